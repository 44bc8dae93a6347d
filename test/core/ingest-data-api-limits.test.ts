/**
 * The ingest routes' core functions through the RDS Data API adapter, against the fake that refuses what
 * the service refuses (a record over 64 KB, a response over 1 MiB) over a real PostgreSQL (PGlite):
 * values as big and as costly as JSON as the request limits allow must be recorded, handed back exactly
 * as given, and held exactly in the database; and what comes back must be what the database holds.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations } from '../../db/migrations';
import { pgTimestampToIso } from '../../functions/adapters/sql/postgres-dialect';
import { recordCodeHistory } from '../../functions/core/code-history';
import { recordExecutionResult } from '../../functions/core/execution-results';
import { migrate } from '../../functions/core/migrations';
import type { Sql } from '../../functions/core/ports/sql';
import { createSession, getSession } from '../../functions/core/sessions';
import { type FakeDataApi, startFakeDataApi } from '../adapters/sql/data-api/fake-data-api';

/** `unit` repeated to at most `maxBytes` bytes of UTF-8. */
const fill = (unit: string, maxBytes: number) => unit.repeat(Math.floor(maxBytes / Buffer.byteLength(unit)));

const OUTPUT_LIMIT = 24 * 1024; // functions/http/request-schemas.ts: stdout, stderr
const CODE_LIMIT = 48 * 1024; // functions/http/request-schemas.ts: code
const METADATA_LIMIT = 8192; // functions/http/request-schemas.ts: metadata, as JSON

/** Terminal output: every escape is six bytes (`\u001b`) in the Data API's JSON. */
const ansi = (maxBytes: number) => fill('\u001b[31mx\u001b[0m', maxBytes);
/** Code that is costly as JSON: quotes, backslashes and control characters. */
const awkwardCode = (maxBytes: number) => fill('"\\"\u0001\u0007\b\f\t\r\n\'\u001f', maxBytes);
/** Metadata within the 8 KiB limit that jsonb prints hundreds of times longer: 1e300 is 301 digits. */
const expandingMetadata = () => {
  const count = Math.floor((METADATA_LIMIT - '{"n":[],"tiny":5e-324}'.length) / '1e+300,'.length);
  const metadata = { n: new Array<number>(count).fill(1e300), tiny: 5e-324 };
  expect(Buffer.byteLength(JSON.stringify(metadata))).toBeLessThanOrEqual(METADATA_LIMIT);
  return metadata;
};

/** One row straight from PostgreSQL, shaped as the Data API adapter shapes it (the old RETURNING path). */
const storedRow = async (api: FakeDataApi, table: string, where: string, value: string) => {
  const result = await api.database.query<Record<string, unknown>>(`SELECT * FROM ${table} WHERE ${where} = $1`, [value]);
  expect(result.rows).toHaveLength(1);
  const shaped: Record<string, unknown> = {};
  for (const field of result.fields) {
    const stored = result.rows[0]![field.name];
    if (stored === null) shaped[field.name] = null;
    else if (field.dataTypeID === 1184) shaped[field.name] = pgTimestampToIso(String(stored));
    else if (field.dataTypeID === 3802) shaped[field.name] = JSON.parse(String(stored));
    else if (field.dataTypeID === 20) shaped[field.name] = String(stored);
    else shaped[field.name] = stored;
  }
  return shaped;
};

describe('ingest within the RDS Data API limits', () => {
  let api: FakeDataApi;
  let sql: Sql;

  beforeAll(async () => {
    api = await startFakeDataApi();
    sql = api.sql;
    await migrate(sql, loadMigrations());
    await createSession({ sql }, { session_id: 'limits' });
  });
  afterAll(async () => {
    await api?.stop();
  });

  it('records a 48 KiB code entry of quotes and control characters and hands it back as given', async () => {
    const code = awkwardCode(CODE_LIMIT);
    expect(JSON.stringify(code).length).toBeGreaterThan(2 * CODE_LIMIT);
    const entry = await recordCodeHistory({ sql }, 'limits', { code, language: 'python', metadata: { cursor: 3 } });
    expect(entry).toEqual({
      id: expect.stringMatching(/^\d+$/),
      session_id: 'limits',
      code,
      language: 'python',
      metadata: { cursor: 3 },
      created_at: expect.any(String),
    });
    expect(entry.code === code).toBe(true);
    expect(JSON.stringify(entry)).toBe(JSON.stringify(await storedRow(api, 'code_history', 'id', entry.id)));
  });

  it('records an execution result with 24 KiB of ANSI-dense stdout and stderr and hands it back as given', async () => {
    const { id: codeId } = await recordCodeHistory({ sql }, 'limits', { code: 'print(1)', language: 'python' });
    const stdout = ansi(OUTPUT_LIMIT);
    const stderr = ansi(OUTPUT_LIMIT).replaceAll('31m', '33m');
    const result = await recordExecutionResult({ sql }, 'limits', {
      code_history_id: codeId,
      stdout,
      stderr,
      exit_code: 1,
      duration_ms: 12.5,
      metadata: { runner: 'jest' },
    });
    expect(result).toEqual({
      id: expect.stringMatching(/^\d+$/),
      session_id: 'limits',
      code_history_id: codeId,
      stdout,
      stderr,
      exit_code: 1,
      duration_ms: 12.5,
      metadata: { runner: 'jest' },
      created_at: expect.any(String),
    });
    expect(result.stdout === stdout && result.stderr === stderr).toBe(true);
    expect(JSON.stringify(result)).toBe(JSON.stringify(await storedRow(api, 'execution_results', 'id', result.id)));
  });

  it('keeps metadata that grows past 64 KB as jsonb text, on every ingest route and when a session is read', async () => {
    const metadata = expandingMetadata();
    const stored = await api.database.query<{ chars: number }>('SELECT length(CAST($1 AS jsonb)::text) AS chars', [
      JSON.stringify(metadata),
    ]);
    expect(stored.rows[0]!.chars).toBeGreaterThan(300 * 1024);

    const session = await createSession({ sql }, { session_id: 'big-metadata', metadata });
    expect(session.metadata).toEqual(metadata);
    expect(JSON.stringify(session)).toBe(JSON.stringify(await storedRow(api, 'sessions', 'session_id', 'big-metadata')));
    expect(await getSession({ sql }, 'big-metadata')).toEqual(session);

    const entry = await recordCodeHistory({ sql }, 'big-metadata', { code: 'x', language: 'js', metadata });
    expect(entry.metadata).toEqual(metadata);
    expect(JSON.stringify(entry)).toBe(JSON.stringify(await storedRow(api, 'code_history', 'id', entry.id)));

    const result = await recordExecutionResult({ sql }, 'big-metadata', { stdout: '', stderr: '', exit_code: 0, metadata });
    expect(result.metadata).toEqual(metadata);
    expect(JSON.stringify(result)).toBe(JSON.stringify(await storedRow(api, 'execution_results', 'id', result.id)));
  });

  it('reads a session whose stored metadata is a few slices long, and one with short metadata', async () => {
    const metadata = { a: 'x'.repeat(3000), b: '"'.repeat(3000), c: '🙂'.repeat(1500), d: [1, 2, 3] };
    await createSession({ sql }, { session_id: 'sliced', candidate: 'Ada', metadata });
    expect(await getSession({ sql }, 'sliced')).toEqual({ ...(await storedRow(api, 'sessions', 'session_id', 'sliced')) });
    await createSession({ sql }, { session_id: 'short', interviewer: 'Grace' });
    expect(JSON.stringify(await getSession({ sql }, 'short'))).toBe(
      JSON.stringify(await storedRow(api, 'sessions', 'session_id', 'short')),
    );
  });

  it('hands back text as the database keeps it: a lone surrogate is stored as U+FFFD', async () => {
    const entry = await recordCodeHistory({ sql }, 'limits', { code: 'a\ud800b\udc00c🙂', language: 'js' });
    expect(entry.code).toBe('a\ufffdb\ufffdc🙂');
    expect(JSON.stringify(entry)).toBe(JSON.stringify(await storedRow(api, 'code_history', 'id', entry.id)));
  });

  it('responds with exactly what the database holds, whatever the metadata keys and values', async () => {
    // jsonb orders keys (shorter first, then by bytes) and prints numbers in full; a response built
    // from the request must come out byte for byte as the one read back from the row did.
    const key = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 6 }), fc.constantFrom('__proto__', '0', '10', '2', 'é', 'z', 'aa'));
    const metadata = fc
      .dictionary(key, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 12 })
      .filter((value) => !/\\u0000|\\ud[89a-f]/i.test(JSON.stringify(value)));
    let session = 0;
    await fc.assert(
      fc.asyncProperty(metadata, async (value) => {
        const id = `prop-${session++}`;
        const created = await createSession({ sql }, { session_id: id, metadata: value });
        expect(JSON.stringify(created)).toBe(JSON.stringify(await storedRow(api, 'sessions', 'session_id', id)));
        expect(JSON.stringify(await getSession({ sql }, id))).toBe(JSON.stringify(created));
        const entry = await recordCodeHistory({ sql }, id, { code: '', language: 'js', metadata: value });
        expect(JSON.stringify(entry)).toBe(JSON.stringify(await storedRow(api, 'code_history', 'id', entry.id)));
        const result = await recordExecutionResult({ sql }, id, {
          stdout: '',
          stderr: '',
          exit_code: 0,
          duration_ms: 0.1 + 0.2,
          metadata: value,
        });
        expect(JSON.stringify(result)).toBe(JSON.stringify(await storedRow(api, 'execution_results', 'id', result.id)));
      }),
      { numRuns: 60 },
    );
  });
});
