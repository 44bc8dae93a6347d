/**
 * Taking snapshots against a real PostgreSQL 15 server (the pg adapter) and the directory store:
 * content and shapes, one point in time while writers are busy, paging, and same-second triggers.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations } from '../../../db/migrations';
import { DirectoryObjectStore } from '../../../functions/adapters/object-store/directory';
import { openPgSql } from '../../../functions/adapters/sql/pg';
import { recordCodeHistory } from '../../../functions/core/code-history';
import { recordExecutionResult } from '../../../functions/core/execution-results';
import { migrate } from '../../../functions/core/migrations';
import type { Sql } from '../../../functions/core/ports/sql';
import { createSession } from '../../../functions/core/sessions';
import { readSnapshot } from '../../../functions/core/snapshots/read-snapshots';
import type { SnapshotDocument } from '../../../functions/core/snapshots/snapshot-document';
import {
  DEFAULT_PAGE_LIMITS,
  type PageCursor,
  RESULT_ROW_FRAMING_BYTES,
  SQL_RESULT_LIMITS,
  tableReaders,
} from '../../../functions/core/snapshots/snapshot-tables';
import { takeSnapshot } from '../../../functions/core/snapshots/take-snapshot';
import { triggerSnapshot } from '../../../functions/core/snapshots/trigger-snapshot';
import { byKey, fullDocument } from '../../support/full-snapshot-read';
import { newDataDir, removeDataDir } from '../../support/local-stack-process';
import { type PostgresServer, startPostgresServer } from '../../support/postgres-server';
import { silentLogger } from '../../support/silent-logger';

let server: PostgresServer;
let sql: Sql;
let dataDir: string;
let store: DirectoryObjectStore;

const deps = (now: Date) => ({ sql, store, logger: silentLogger, clock: { now: () => now } });

/** The whole state a snapshot gives, as GET returns it. */
const readDocument = async (snapshotId: string): Promise<SnapshotDocument> => {
  const view = await readSnapshot({ store }, snapshotId);
  return { timestamp: view!.timestamp, snapshot_id: view!.snapshot_id, data: view!.data!, metadata: view!.metadata };
};

const addChunk = (sessionId: string) =>
  sql.query(
    `INSERT INTO audio_chunks (session_id, content_type, audio_key, size_bytes, sample_rate, channels, duration)
     VALUES (:session_id, 'audio/wav', 'audio/' || :session_id || '/0.wav', 3200, 16000, 1, 0.1)`,
    { session_id: sessionId },
  );

/** One session with a chunk, a code entry and its execution, written as the API writes them. */
const writeSessionTree = async (sessionId: string) => {
  await createSession({ sql }, { session_id: sessionId, candidate: 'Ada "Countess" Lovelace', metadata: { round: 1, tags: ['π', 'ü'] } });
  await addChunk(sessionId);
  const code = await recordCodeHistory({ sql }, sessionId, { code: 'print("hi")\n', language: 'python' });
  await recordExecutionResult({ sql }, sessionId, { code_history_id: code.id, stdout: 'hi\n', stderr: '', exit_code: 0, duration_ms: 1.5 });
};

beforeAll(async () => {
  server = await startPostgresServer();
  sql = await openPgSql(server.url, { maxConnections: 8 });
  await migrate(sql, loadMigrations());
  dataDir = await newDataDir('snapshots-core');
  store = await new DirectoryObjectStore(dataDir).open();
});

afterAll(async () => {
  await sql?.close();
  await server?.stop();
  if (dataDir) await removeDataDir(dataDir);
});

describe('takeSnapshot', () => {
  it('writes the seed document: rows as the database holds them, counts and its own size', async () => {
    await writeSessionTree('content-1');
    const instant = new Date('2030-05-06T07:08:09.750Z');
    const outcome = await takeSnapshot(deps(instant), { instant });
    expect(outcome).toMatchObject({ status: 'taken', snapshot_id: 'snapshot_1904281689', key: 'snapshots/snapshot_20300506_070809.json' });

    // The key holds a manifest; the state it names is what a full read gives, byte for byte in size.
    const manifest = JSON.parse(gunzipSync(await readFile(join(dataDir, 'snapshots/snapshot_20300506_070809.json'))).toString('utf8'));
    expect(manifest).toMatchObject({ format: 'segments/2', snapshot_id: 'snapshot_1904281689' });
    const document = await readDocument('snapshot_1904281689');
    const full = await sql.transaction((tx) => fullDocument(tx, { timestamp: document.timestamp, snapshot_id: document.snapshot_id }), {
      isolation: 'repeatable read',
      readOnly: true,
    });
    expect(document.timestamp).toBe('2030-05-06T07:08:09Z');
    expect(Object.keys(document.data)).toEqual(['sessions', 'audio_chunks', 'code_history', 'execution_results']);
    expect(document.metadata).toEqual(full.document.metadata);
    expect(full.document.metadata.snapshot_size_bytes).toBe(Buffer.byteLength(full.text));

    const session = document.data.sessions.find((row) => row.session_id === 'content-1');
    const stored = (
      await sql.query(`SELECT session_id, candidate, interviewer, metadata, created_at FROM sessions WHERE session_id = 'content-1'`)
    )[0];
    expect(session).toEqual(stored);
    expect(session!.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);

    const chunk = document.data.audio_chunks.find((row) => row.session_id === 'content-1')!;
    expect(chunk).toMatchObject({
      content_type: 'audio/wav',
      audio_key: 'audio/content-1/0.wav',
      size_bytes: 3200,
      channels: 1,
      duration: 0.1,
    });
    expect(chunk.chunk_id).toMatch(/^\d+$/);
    expect(chunk).toHaveProperty('transcript_updated_at', null);
    const execution = document.data.execution_results.find((row) => row.session_id === 'content-1')!;
    const entry = document.data.code_history.find((row) => row.session_id === 'content-1')!;
    expect(entry).toMatchObject({ code: 'print("hi")\n', language: 'python', metadata: {} });
    expect(execution).toMatchObject({ code_history_id: entry.id, stdout: 'hi\n', exit_code: 0, duration_ms: 1.5 });

    const counts = (
      await sql.query<Record<string, string>>(
        `SELECT (SELECT count(*) FROM sessions) s, (SELECT count(*) FROM audio_chunks) a,
              (SELECT count(*) FROM code_history) c, (SELECT count(*) FROM execution_results) e`,
      )
    )[0]!;
    expect(document.metadata).toEqual({
      total_sessions: Number(counts.s),
      total_audio_chunks: Number(counts.a),
      total_code_entries: Number(counts.c),
      total_executions: Number(counts.e),
      snapshot_size_bytes: Buffer.byteLength(full.text),
    });
    expect(outcome.status === 'taken' && outcome.metadata).toEqual(document.metadata);
  });

  it('pages through tables of any size in keyset order without losing or repeating a row', async () => {
    for (let index = 0; index < 30; index += 1) await writeSessionTree(`paged-${String(index).padStart(2, '0')}`);
    const instant = new Date('2030-05-06T08:00:00Z');
    // Pages of 7 rows, or fewer when the byte budget runs out first, and rows in slices of 40 bytes
    // (the names and tags hold 2-byte characters): every limit is exercised, pages end inside rows.
    const outcome = await takeSnapshot(deps(instant), { instant, pageLimits: { maxRows: 7, maxBytes: 3000, sliceBytes: 40 } });
    expect(outcome.status).toBe('taken');
    const document = await readDocument('snapshot_1904284800');
    const ids = (await sql.query<{ id: string }>('SELECT id FROM code_history ORDER BY id')).map((row) => row.id);
    expect(document.data.code_history.map((row) => row.id)).toEqual(ids);
    const sessionIds = (await sql.query<{ session_id: string }>('SELECT session_id FROM sessions ORDER BY session_id')).map(
      (row) => row.session_id,
    );
    // Sessions come by segment (a hash of their id), the numeric keys in order.
    expect(byKey(document.data.sessions, 'session_id').map((row) => row.session_id)).toEqual(sessionIds);
    expect(document.metadata.total_sessions).toBe(sessionIds.length);
  });

  it('keeps every result within its byte budget, passing it by one slice at most, and under the Data API limits by default', async () => {
    // Rows of very different sizes, some of several slices, with characters of 1 to 4 bytes.
    await createSession({ sql }, { session_id: 'budget-1' });
    for (const size of [10, 5000, 20, 12_000, 30, 3000, 8000, 15]) {
      await recordCodeHistory({ sql }, 'budget-1', { code: 'x"é🙂'.repeat(size / 10), language: 'python' });
    }
    const limits = { maxRows: 50, maxBytes: 10_000, sliceBytes: 1000 };
    const results: { key_value: string; slices_left: number; piece: string }[][] = [];
    const rows = await sql.transaction(async (tx) => {
      // Sees each statement's result as the database returned it, before slices are joined.
      const recording = {
        query: async <Row extends Record<string, unknown>>(text: string, params?: Parameters<typeof tx.query>[1]) => {
          const found = await tx.query<Row>(text, params);
          if (text.includes('slices_left')) results.push(found as never);
          return found;
        },
      };
      const reader = (await tableReaders(recording, limits)).find((candidate) => candidate.table.section === 'code_history')!;
      const seen: string[] = [];
      let after: PageCursor | null = null;
      do {
        const page = await reader.page(recording, after);
        seen.push(...page.rows);
        after = page.nextAfter;
      } while (after !== null);
      return seen;
    });
    const cost = (slice: { key_value: string; piece: string }) =>
      2 * (Buffer.byteLength(slice.piece) + Buffer.byteLength(slice.key_value)) + RESULT_ROW_FRAMING_BYTES;
    for (const found of results) {
      const beforeLast = found.slice(0, -1).reduce((sum, slice) => sum + cost(slice), 0);
      expect(beforeLast).toBeLessThan(limits.maxBytes);
      for (const slice of found) expect(Buffer.byteLength(slice.piece)).toBeLessThanOrEqual(limits.sliceBytes + 3);
    }
    expect(results.length).toBeGreaterThan(3);
    expect(results.some((found) => found.at(-1)!.slices_left > 0)).toBe(true);
    const stored = await sql.query<{ code: string }>(`SELECT code FROM code_history WHERE session_id = 'budget-1' ORDER BY id`);
    const read = rows.map((row) => JSON.parse(row) as { session_id: string; code: string }).filter((row) => row.session_id === 'budget-1');
    expect(read.map((row) => row.code)).toEqual(stored.map((row) => row.code));

    // A slice as sent (its bytes, doubled by escaping at worst, with a session id of 128 characters)
    // stays under the row limit, and a page passed by one such slice under the response limit.
    const worstSlice = 2 * (DEFAULT_PAGE_LIMITS.sliceBytes + 3 + 128) + RESULT_ROW_FRAMING_BYTES;
    expect(worstSlice).toBeLessThan(SQL_RESULT_LIMITS.rowBytes);
    expect(DEFAULT_PAGE_LIMITS.maxBytes + worstSlice + 4096).toBeLessThan(SQL_RESULT_LIMITS.resultBytes);
  });

  it('reads all four tables at one point in time while writers keep inserting', async () => {
    let writing = true;
    let written = 0;
    const writer = async (name: string) => {
      while (writing) {
        await writeSessionTree(`busy-${name}-${written}`);
        written += 1;
      }
    };
    const writers = [writer('a'), writer('b'), writer('c')];
    try {
      const snapshotIds: string[] = [];
      for (let second = 0; second < 4; second += 1) {
        const instant = new Date(Date.UTC(2030, 4, 6, 9, 0, second));
        const before = written;
        const outcome = await takeSnapshot(deps(instant), { instant, pageLimits: { maxRows: 5, maxBytes: 100_000, sliceBytes: 100 } });
        expect(outcome.status).toBe('taken');
        snapshotIds.push(outcome.snapshot_id);
        // The writers made progress while this snapshot was being read, so the test can see a torn read.
        await expect.poll(() => written > before).toBe(true);
      }
      for (const snapshotId of snapshotIds) {
        const { data, metadata } = await readDocument(snapshotId);
        const sessions = new Set(data.sessions.map((row) => row.session_id));
        const codeIds = new Set(data.code_history.map((row) => row.id));
        for (const row of [...data.audio_chunks, ...data.code_history, ...data.execution_results]) {
          expect(sessions.has(row.session_id)).toBe(true);
        }
        for (const row of data.execution_results) if (row.code_history_id !== null) expect(codeIds.has(row.code_history_id)).toBe(true);
        // Every session tree is written whole, so a consistent snapshot holds each of them complete or not at all.
        const busy = data.sessions.filter((row) => String(row.session_id).startsWith('busy-')).length;
        const busyExecutions = data.execution_results.filter((row) => String(row.session_id).startsWith('busy-')).length;
        expect(busyExecutions).toBeLessThanOrEqual(busy);
        expect(metadata.total_sessions).toBe(data.sessions.length);
      }
    } finally {
      writing = false;
      await Promise.all(writers);
    }
  });

  it('two triggers in one second each get a snapshot of their own, never a 409 (issue 16)', async () => {
    const instant = new Date('2030-05-06T10:00:00Z');
    // The schedule took this second's snapshot just before the requests arrived.
    await takeSnapshot(deps(instant), { instant, exclusive: true });
    const views = await Promise.all([triggerSnapshot(deps(instant)), triggerSnapshot(deps(instant))]);
    const ids = views.map((view) => view.snapshot_id);
    expect(new Set(ids).size).toBe(2);
    expect(ids).not.toContain('snapshot_1904292000');
    for (const view of views) expect(view.data).not.toBeNull();
    // Nothing half-written is left beside them.
    expect(await readdir(join(dataDir, '.tmp'))).toEqual([]);
  });

  it('skips an exclusive run while another exclusive run holds the lock', async () => {
    const instant = new Date('2030-05-06T11:00:00Z');
    const holder = await sql.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(7203614451)');
      return takeSnapshot(deps(instant), { instant, exclusive: true });
    });
    expect(holder).toMatchObject({ status: 'skipped', reason: 'busy' });
    const after = await takeSnapshot(deps(instant), { instant, exclusive: true });
    expect(after).toMatchObject({ status: 'taken' });
    const again = await takeSnapshot(deps(instant), { instant, exclusive: true });
    expect(again).toMatchObject({ status: 'skipped', reason: 'exists' });
  });
});
