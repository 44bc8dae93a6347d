import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations } from '../../../db/migrations';
import { DirectoryObjectStore } from '../../../functions/adapters/object-store/directory';
import { pgTimestampToIso } from '../../../functions/adapters/sql/postgres-dialect';
import { migrate } from '../../../functions/core/migrations';
import type { Sql } from '../../../functions/core/ports/sql';
import { createSession } from '../../../functions/core/sessions';
import { PIECE_BYTES } from '../../../functions/core/snapshots/manifest';
import {
  getSnapshotPart,
  MAX_INLINE_SNAPSHOT_BYTES,
  readSnapshot,
  type SnapshotPart,
} from '../../../functions/core/snapshots/read-snapshots';
import { type PageCursor, SNAPSHOT_TABLES, tableReaders } from '../../../functions/core/snapshots/snapshot-tables';
import { takeSnapshot } from '../../../functions/core/snapshots/take-snapshot';
import {
  DATA_API_RECORD_LIMIT_BYTES,
  type FakeDataApi,
  RECORD_TOO_LARGE_MESSAGE,
  startFakeDataApi,
} from '../../adapters/sql/data-api/fake-data-api';
import { byKey, fullDocument } from '../../support/full-snapshot-read';
import { newDataDir, removeDataDir } from '../../support/local-stack-process';
import { silentLogger } from '../../support/silent-logger';

/** `unit` repeated to at most `maxBytes` bytes of UTF-8. */
const fill = (unit: string, maxBytes: number) => unit.repeat(Math.floor(maxBytes / Buffer.byteLength(unit)));

/** Test-runner output as a terminal shows it: every escape becomes six bytes (`\u001b`) in JSON. */
const ansiOutput = (label: string, maxBytes: number) =>
  fill(
    `\u001b[1m\u001b[31m FAIL \u001b[39m\u001b[22m ${label} › expected \u001b[32m"ok"\u001b[39m got \u001b[31m"no"\u001b[39m\n`,
    maxBytes,
  );

/** Code that is costly as JSON: quotes, backslashes, control characters and 4-byte characters. */
const awkwardCode = (maxBytes: number) => fill('print("\\t🙂 naïve € \u0007")\\n\t', maxBytes);

const STDOUT_LIMIT = 24 * 1024; // functions/handlers/record-execution-result.ts
const CODE_LIMIT = 48 * 1024; // functions/handlers/record-code-history.ts

/** Every row of a snapshot table, read straight from PostgreSQL and given the shapes the snapshot uses. */
const fullRead = async (api: FakeDataApi, section: string, key: string) => {
  const result = await api.database.query<Record<string, unknown>>(`SELECT * FROM ${section} ORDER BY ${key}`);
  return result.rows.map((row) => {
    const shaped: Record<string, unknown> = {};
    for (const field of result.fields) {
      const value = row[field.name];
      // The fake's PostgreSQL hands timestamps, bigint and json over as text, as the Data API does.
      if (value === null) shaped[field.name] = null;
      else if (field.dataTypeID === 1184 || field.dataTypeID === 1114) shaped[field.name] = pgTimestampToIso(String(value));
      else if (field.dataTypeID === 114 || field.dataTypeID === 3802) shaped[field.name] = JSON.parse(String(value));
      else shaped[field.name] = value;
    }
    return shaped;
  });
};

describe('snapshots within the RDS Data API limits', () => {
  let api: FakeDataApi;
  let sql: Sql;
  let dataDir: string;
  let store: DirectoryObjectStore;

  beforeAll(async () => {
    api = await startFakeDataApi();
    sql = api.sql;
    await migrate(sql, loadMigrations());
    dataDir = await newDataDir('snapshot-data-api-limits');
    // Signed URLs are checked by the store itself below; no server needs to listen at this base.
    store = await new DirectoryObjectStore(dataDir, { uploadBaseUrl: () => 'http://127.0.0.1:1' }).open();
  });

  /** A part's rows: inline, or read through its presigned URL (checked as the local gateway checks it). */
  const rowsOf = async (part: SnapshotPart): Promise<Record<string, unknown>[]> => {
    if (part.rows) return part.rows;
    const url = new URL(part.url!);
    const read = await store.readSignedDownload({ path: url.pathname, query: url.searchParams });
    if ('status' in read) throw new Error(read.error);
    // Served as JSON with Content-Encoding: gzip, which an HTTP client decodes.
    expect(read).toMatchObject({ contentType: 'application/json', contentEncoding: 'gzip' });
    return JSON.parse(gunzipSync(read.body).toString('utf8')) as Record<string, unknown>[];
  };
  afterAll(async () => {
    await api?.stop();
    if (dataDir) await removeDataDir(dataDir);
  });

  it('has a fake that refuses, as the service does, a record over 64 KB as sent and a response over 1 MiB', async () => {
    // 40,000 quotes are 40 KB in the database and 80 KB once escaped in the service's JSON.
    await expect(sql.query(`SELECT repeat('"', 40000) AS quotes`)).rejects.toThrow(RECORD_TOO_LARGE_MESSAGE);
    await expect(sql.query(`SELECT repeat('x', ${DATA_API_RECORD_LIMIT_BYTES}) AS wide`)).rejects.toThrow(RECORD_TOO_LARGE_MESSAGE);
    await expect(sql.query(`SELECT repeat('x', 30000) AS x FROM generate_series(1, 40)`)).rejects.toThrow(/1 MiB response limit/);
    expect(await sql.query(`SELECT repeat('x', 30000) AS x FROM generate_series(1, 30)`)).toHaveLength(30);
  });

  it('snapshots rows up to the input limits, and beyond, totalling several MiB, to exactly the tables', async () => {
    // Written straight into PostgreSQL: through the Data API, RETURNING rows this big is refused too
    // (an ingest matter, not a snapshot one). Metadata is bounded only by the 1 MiB request body, so
    // this session's row JSON alone is more than one response.
    const db = api.database;
    await db.query(`INSERT INTO sessions (session_id, metadata) VALUES ('limits-meta', $1::jsonb)`, [
      JSON.stringify({ notes: fill('"\\\u001b[0m ', (900 * 1024) / 2) }),
    ]);
    await createSession({ sql }, { session_id: 'limits-run', candidate: 'Ada "Countess" Lovelace' });
    await sql.query(
      `INSERT INTO audio_chunks (session_id, content_type, audio_key, size_bytes, sample_rate, channels, duration)
       SELECT 'limits-run', 'audio/wav', 'audio/limits-run/' || n || '.wav', 3200, 16000, 1, 0.1 FROM generate_series(1, 3) AS n`,
    );
    for (let index = 0; index < 20; index += 1) {
      await db.query(`INSERT INTO code_history (session_id, code, language) VALUES ('limits-run', $1, 'python')`, [
        awkwardCode(CODE_LIMIT),
      ]);
    }
    for (let index = 0; index < 60; index += 1) {
      await db.query(
        `INSERT INTO execution_results (session_id, code_history_id, stdout, stderr, exit_code, duration_ms)
         VALUES ('limits-run', CASE WHEN $1 THEN (SELECT max(id) FROM code_history) END, $2, $3, 1, 12.5)`,
        [index % 2 === 0, ansiOutput(`test_${index}.py`, STDOUT_LIMIT), ansiOutput(`stderr ${index}`, STDOUT_LIMIT)],
      );
    }
    const [sized] = await sql.query<{ bytes: string }>(
      `SELECT (SELECT sum(octet_length(row_to_json(e)::text)) FROM execution_results e)
            + (SELECT sum(octet_length(row_to_json(c)::text)) FROM code_history c) AS bytes`,
    );
    expect(Number(sized!.bytes)).toBeGreaterThan(5 * 1024 * 1024);

    const instant = new Date('2031-01-02T03:04:05Z');
    const outcome = await takeSnapshot({ sql, store, logger: silentLogger, clock: { now: () => instant } }, { instant });
    expect(outcome.status).toBe('taken');
    // Too big to return inline: the view names its parts, and the parts hold exactly the tables.
    const view = (await readSnapshot({ store }, outcome.snapshot_id))!;
    expect(view.data).toBeNull();
    expect(view.parts!.length).toBeGreaterThan(1);
    const data: Record<string, Record<string, unknown>[]> = { sessions: [], audio_chunks: [], code_history: [], execution_results: [] };
    for (const [index, path] of view.parts!.entries()) {
      expect(path).toBe(`/sandbox_snapshot/${outcome.snapshot_id}/parts/${index}`);
      const part = await getSnapshotPart({ store }, outcome.snapshot_id, index);
      expect(part.parts_total).toBe(view.parts!.length);
      // Each part fits a Lambda response with room for its envelope, as the response carries it, or has a URL.
      if (part.rows) expect(Buffer.byteLength(JSON.stringify(JSON.stringify(part.rows)))).toBeLessThanOrEqual(MAX_INLINE_SNAPSHOT_BYTES);
      else expect(part.url).toMatch(/^http:/);
      const rows = await rowsOf(part);
      expect(Buffer.byteLength(JSON.stringify(rows))).toBeLessThanOrEqual(PIECE_BYTES);
      data[part.section]!.push(...rows);
    }
    for (const table of SNAPSHOT_TABLES) {
      expect(byKey(data[table.section]!, table.key), table.section).toEqual(await fullRead(api, table.section, table.key));
    }
    const full = await sql.transaction((tx) => fullDocument(tx, { timestamp: view.timestamp, snapshot_id: view.snapshot_id }), {
      isolation: 'repeatable read',
      readOnly: true,
    });
    expect(view.metadata).toEqual(full.document.metadata);
    expect(data.execution_results![0]!.stdout).toBe(ansiOutput('test_0.py', STDOUT_LIMIT));
  });

  it('reads rows of any size from 0 to 200 KB whole, in order, through the limits', async () => {
    const units = ['a', '"', '\\', '\u001b', 'é', '€', '🙂', '\n', ' x'];
    const rowArbitrary = fc.record({
      unit: fc.array(fc.constantFrom(...units), { minLength: 1, maxLength: 3 }).map((chosen) => chosen.join('')),
      bytes: fc.integer({ min: 0, max: 200 * 1024 }),
    });
    await createSession({ sql }, { session_id: 'limits-random' });
    await fc.assert(
      fc.asyncProperty(fc.array(rowArbitrary, { minLength: 1, maxLength: 8 }), async (rows) => {
        await api.database.query('DELETE FROM code_history');
        for (const row of rows) {
          await api.database.query(`INSERT INTO code_history (session_id, code, language) VALUES ('limits-random', $1, 'text')`, [
            fill(row.unit, row.bytes),
          ]);
        }
        const read = await sql.transaction(
          async (tx) => {
            const reader = (await tableReaders(tx)).find((candidate) => candidate.table.section === 'code_history')!;
            const seen: unknown[] = [];
            let after: PageCursor | null = null;
            do {
              const page = await reader.page(tx, after);
              seen.push(...page.rows.map((row) => JSON.parse(row)));
              after = page.nextAfter;
            } while (after !== null);
            return seen;
          },
          { isolation: 'repeatable read', readOnly: true },
        );
        expect(read).toEqual(await fullRead(api, 'code_history', 'id'));
      }),
      { numRuns: 30 },
    );
  });

  it('snapshots a 5 MiB row through the slices, and serves its part by a presigned URL', async () => {
    await api.database.query('TRUNCATE sessions, audio_chunks, code_history, execution_results CASCADE');
    await createSession({ sql }, { session_id: 'limits-huge' });
    // Over the 4 MiB piece and a Lambda response: only a direct write makes it (the API takes 48 KB of code).
    const code = fill('def f():\n    return "x"\n', 5 * 1024 * 1024);
    await api.database.query(`INSERT INTO code_history (session_id, code, language) VALUES ('limits-huge', $1, 'python')`, [code]);
    await sql.query(`INSERT INTO code_history (session_id, code, language) VALUES ('limits-huge', 'small', 'python')`);
    const instant = new Date('2031-01-03T03:04:05Z');
    const outcome = await takeSnapshot({ sql, store, logger: silentLogger, clock: { now: () => instant } }, { instant });
    expect(outcome.status).toBe('taken');
    const view = (await readSnapshot({ store }, outcome.snapshot_id))!;
    expect(view.data).toBeNull();
    const parts = await Promise.all(view.parts!.map((_, index) => getSnapshotPart({ store }, outcome.snapshot_id, index)));
    const huge = parts.find((part) => part.rows === null)!;
    expect(huge).toMatchObject({ section: 'code_history', rows: null, url: expect.stringMatching(/^http:/) });
    expect(Date.parse(huge.url_expires_at!)).toBeGreaterThan(Date.now());
    const rows = (await Promise.all(parts.map(rowsOf))).flat();
    expect(rows.filter((row) => row.code === code)).toHaveLength(1);
    expect(rows.filter((row) => row.code === 'small')).toHaveLength(1);
    // A tampered URL is refused.
    const tampered = new URL(huge.url!.replace('code_history', 'code_historx'));
    expect(await store.readSignedDownload({ path: tampered.pathname, query: tampered.searchParams })).toMatchObject({ status: 403 });
  });
});
