/**
 * Issue 16's proof: the whole state a segmented snapshot gives equals a full read taken in the same
 * transaction, after any sequence of inserts, updates and deletes, with writers running while the
 * snapshot reads, snapshot after snapshot, with the change log pruned and with runs built on a stale
 * manifest. On PostgreSQL 15 (pg adapter, concurrent writers) and through the RDS Data API adapter
 * against the limit-enforcing fake (one connection: writers wait for the snapshot's transaction).
 */
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations } from '../../../db/migrations';
import { DirectoryObjectStore } from '../../../functions/adapters/object-store/directory';
import { openPgSql } from '../../../functions/adapters/sql/pg';
import { migrate } from '../../../functions/core/migrations';
import type { Sql, SqlRunner } from '../../../functions/core/ports/sql';
import { pruneChangesBefore } from '../../../functions/core/snapshots/changed-segments';
import { MANIFEST_FORMAT, metadataFor, piecesInOrder, type SnapshotManifest } from '../../../functions/core/snapshots/manifest';
import { assembleData } from '../../../functions/core/snapshots/read-snapshots';
import { PieceWriter } from '../../../functions/core/snapshots/segment-pieces';
import { SEGMENT_KEY_SPAN, SNAPSHOT_TABLES } from '../../../functions/core/snapshots/snapshot-tables';
import { readChangedSegments } from '../../../functions/core/snapshots/take-snapshot';
import { type FakeDataApi, startFakeDataApi } from '../../adapters/sql/data-api/fake-data-api';
import { byKey, fullDocument } from '../../support/full-snapshot-read';
import { newDataDir, removeDataDir } from '../../support/local-stack-process';
import { type PostgresServer, startPostgresServer } from '../../support/postgres-server';

const SESSIONS = Array.from({ length: 12 }, (_, index) => `s${index}`);
/** Keys over four segments, so that unchanged segments are carried from one manifest to the next. */
const rowId = fc.integer({ min: 1, max: 4 * SEGMENT_KEY_SPAN - 1 });
const session = fc.constantFrom(...SESSIONS);

type Operation =
  | { kind: 'session'; session: string; note: string }
  | { kind: 'chunk' | 'code' | 'execution'; session: string; id: number }
  | { kind: 'chunk-status'; id: number; status: 'processing' | 'done' | 'failed' }
  | { kind: 'code-edit'; id: number; code: string }
  | { kind: 'delete-session'; session: string }
  | { kind: 'delete-chunk' | 'delete-execution'; id: number };

const operation: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({ kind: fc.constant('session' as const), session, note: fc.string({ maxLength: 20 }) }),
  fc.record({ kind: fc.constantFrom('chunk' as const, 'code' as const, 'execution' as const), session, id: rowId }),
  fc.record({
    kind: fc.constant('chunk-status' as const),
    id: rowId,
    status: fc.constantFrom('processing' as const, 'done' as const, 'failed' as const),
  }),
  fc.record({ kind: fc.constant('code-edit' as const), id: rowId, code: fc.string({ maxLength: 40 }) }),
  fc.record({ kind: fc.constant('delete-session' as const), session }),
  fc.record({ kind: fc.constantFrom('delete-chunk' as const, 'delete-execution' as const), id: rowId }),
);

const round = fc.record({
  before: fc.array(operation, { maxLength: 12 }),
  /** Run by another connection while the snapshot's transaction reads. */
  during: fc.array(operation, { maxLength: 12 }),
  /**
   * Written by a transaction that began before the snapshot's and commits while it reads: invisible to
   * this snapshot, and below its xmax, so the next one must still find them (PostgreSQL only: the Data
   * API fake has one connection).
   */
  straddling: fc.array(operation, { maxLength: 6 }),
  prune: fc.boolean(),
  /** Build on the manifest before the last one (as a run that lost a race would). */
  staleBase: fc.boolean(),
  /** Changes logged without their row's key, as before migration 013: their segments are read whole. */
  unkeyed: fc.boolean(),
});

/**
 * A write that lost a race with a concurrent delete of its session (the foreign key check sees the
 * delete commit) did not happen: as for a client, that is the write failing, not the snapshot.
 */
const lostToConcurrentDelete = (error: unknown): boolean => {
  const codes = [error, (error as { cause?: unknown })?.cause].map((candidate) => (candidate as { code?: unknown })?.code);
  return codes.includes('23503') || /is not present in table "sessions"/.test(String(error));
};

const apply = (sql: SqlRunner, op: Operation) =>
  applyOnce(sql, op).catch((error: unknown) => {
    if (lostToConcurrentDelete(error)) return [];
    throw error;
  });

const applyOnce = async (sql: SqlRunner, op: Operation) => {
  switch (op.kind) {
    case 'session':
      return sql.query(
        `INSERT INTO sessions (session_id, candidate) VALUES (:session, :note)
         ON CONFLICT (session_id) DO UPDATE SET candidate = EXCLUDED.candidate`,
        { session: op.session, note: op.note },
      );
    case 'chunk':
      return sql.query(
        `INSERT INTO audio_chunks (chunk_id, session_id, content_type, audio_key, size_bytes, sample_rate, channels, duration)
         SELECT :id, session_id, 'audio/wav', 'audio/x.wav', 3200, 16000, 1, 0.1 FROM sessions WHERE session_id = :session
         ON CONFLICT (chunk_id) DO NOTHING`,
        { id: op.id, session: op.session },
      );
    case 'code':
      return sql.query(
        `INSERT INTO code_history (id, session_id, code, language) OVERRIDING SYSTEM VALUE
         SELECT :id, session_id, 'print(1)', 'python' FROM sessions WHERE session_id = :session ON CONFLICT (id) DO NOTHING`,
        { id: op.id, session: op.session },
      );
    case 'execution':
      return sql.query(
        `INSERT INTO execution_results (id, session_id, code_history_id, stdout, exit_code) OVERRIDING SYSTEM VALUE
         SELECT :id, session_id, (SELECT max(id) FROM code_history WHERE session_id = :session), 'ok', 0
         FROM sessions WHERE session_id = :session ON CONFLICT (id) DO NOTHING`,
        { id: op.id, session: op.session },
      );
    case 'chunk-status':
      return sql.query('UPDATE audio_chunks SET transcript_status = :status, transcript_updated_at = now() WHERE chunk_id = :id', {
        id: op.id,
        status: op.status,
      });
    case 'code-edit':
      return sql.query('UPDATE code_history SET code = :code WHERE id = :id', { id: op.id, code: op.code });
    case 'delete-session':
      return sql.query('DELETE FROM sessions WHERE session_id = :session', { session: op.session });
    case 'delete-chunk':
      return sql.query('DELETE FROM audio_chunks WHERE chunk_id = :id', { id: op.id });
    case 'delete-execution':
      return sql.query('DELETE FROM execution_results WHERE id = :id', { id: op.id });
  }
};

/** Runs the rounds, each snapshot built on the previous manifest and checked against a full read in its transaction. */
type Round = typeof round extends fc.Arbitrary<infer R> ? R : never;

/** `fanout`: trailing pieces of a tier merged; lower than the service's sixteen so that short runs of rounds merge. */
const checkRounds = async (sql: Sql, store: DirectoryObjectStore, rounds: readonly Round[], concurrent: boolean, fanout = 3) => {
  await sql.query('TRUNCATE sessions, audio_chunks, code_history, execution_results, snapshot_changes, snapshot_change_horizon CASCADE');
  const manifests: SnapshotManifest[] = [];
  let sequence = 0;
  for (const { before, during, straddling, prune, staleBase, unkeyed } of rounds) {
    for (const op of before) await apply(sql, op);
    if (unkeyed) await sql.query('UPDATE snapshot_changes SET row_key = NULL');
    let release: () => void = () => undefined;
    const snapshotTaken = new Promise<void>((resolveTaken) => {
      release = resolveTaken;
    });
    let straddled: Promise<unknown> = Promise.resolve();
    if (concurrent && straddling.length > 0) {
      let begun: () => void = () => undefined;
      const started = new Promise<void>((resolveStarted) => {
        begun = resolveStarted;
      });
      straddled = sql.transaction(async (wtx) => {
        for (const op of straddling) await apply(wtx, op);
        await wtx.query('SELECT pg_current_xact_id()');
        begun();
        await snapshotTaken;
      });
      await started;
      // A transaction that begins after the straddler and completes before the snapshot: the straddler's
      // id is then below the snapshot's xmax and in its list of running transactions.
      await sql.query('SELECT pg_current_xact_id()');
    }
    const base = (staleBase ? manifests.at(-2) : manifests.at(-1)) ?? null;
    const snapshotId = `snapshot_${1_900_000_000 + sequence++}`;
    const timestamp = '2030-01-01T00:00:00Z';
    const writer = new PieceWriter(store, new Date());
    let writing: Promise<unknown> = Promise.resolve();
    const read = await sql
      .transaction(
        async (tx) => {
          // The writers start once the snapshot's transaction holds its database snapshot.
          await tx.query('SELECT 1');
          release();
          writing = (async () => {
            for (const op of during) await apply(sql, op);
          })();
          const segments = await readChangedSegments(tx, base, writer, { maxRows: 7, maxBytes: 4000, sliceBytes: 64 }, fanout);
          const full = await fullDocument(tx, { timestamp, snapshot_id: snapshotId });
          return { ...segments, full };
        },
        { isolation: 'repeatable read', readOnly: true },
      )
      .finally(release);
    release();
    await Promise.all([writing, straddled]);
    const manifest: SnapshotManifest = {
      format: MANIFEST_FORMAT,
      timestamp,
      snapshot_id: snapshotId,
      metadata: metadataFor(timestamp, snapshotId, read.segments),
      segments: read.segments,
      state: { database_snapshot: read.databaseSnapshot, change_marker: null, database_checked_at: new Date().toISOString() },
    };
    const data = await assembleData(store, manifest);
    for (const table of SNAPSHOT_TABLES) {
      // Numeric keys come in key order across segments and pieces; sessions by day, then id.
      const given = table.keyType === 'bigint' ? data[table.section] : byKey(data[table.section], table.key);
      expect(given, table.section).toEqual(read.full.document.data[table.section]);
    }
    // Each piece's range ends at its last row, which is what the next run routes changed keys by.
    for (const { section, piece } of piecesInOrder(manifest)) {
      const rows = JSON.parse(gunzipSync((await store.get(piece.key))!.body).toString('utf8')) as Record<string, unknown>[];
      const key = SNAPSHOT_TABLES.find((table) => table.section === section)!.key;
      expect(rows.length, piece.key).toBe(piece.rows);
      expect(String(rows.at(-1)![key]), piece.key).toBe(piece.last_key);
    }
    expect(manifest.metadata).toEqual(read.full.document.metadata);
    if (prune && base) await pruneChangesBefore(sql, base.state.database_snapshot);
    manifests.push(manifest);
  }
};

const rounds = fc.array(round, { minLength: 2, maxLength: 6 });

describe('segmented snapshots equal a full read in the same transaction', () => {
  let dataDir: string;
  let store: DirectoryObjectStore;

  beforeAll(async () => {
    dataDir = await newDataDir('incremental-snapshot');
    store = await new DirectoryObjectStore(dataDir).open();
  });
  afterAll(async () => {
    if (dataDir) await removeDataDir(dataDir);
  });

  describe('on PostgreSQL, with writers on other connections', () => {
    let server: PostgresServer;
    let sql: Sql;
    beforeAll(async () => {
      server = await startPostgresServer();
      sql = await openPgSql(server.url, { maxConnections: 4 });
      await migrate(sql, loadMigrations());
    });
    afterAll(async () => {
      await sql?.close();
      await server?.stop();
    });

    it('finds a write whose transaction began before the last snapshot and committed after it', async () => {
      const straddling: Round = {
        before: [{ kind: 'session', session: 's1', note: 'x' }],
        during: [],
        straddling: [{ kind: 'chunk', session: 's1', id: SEGMENT_KEY_SPAN + 5 }],
        prune: false,
        staleBase: false,
        unkeyed: false,
      };
      await checkRounds(
        sql,
        store,
        [straddling, { before: [], during: [], straddling: [], prune: false, staleBase: false, unkeyed: false }],
        true,
      );
      const [row] = await sql.query<{ n: string }>('SELECT count(*) AS n FROM audio_chunks');
      expect(Number(row!.n)).toBe(1);
    });

    it('after any inserts, updates and deletes, pruning and stale bases', async () => {
      await fc.assert(
        fc.asyncProperty(rounds, (generated) => checkRounds(sql, store, generated, true)),
        { numRuns: 40 },
      );
    }, 180_000);
  });

  describe('through the RDS Data API adapter and its limits', () => {
    let api: FakeDataApi;
    let sql: Sql;
    beforeAll(async () => {
      api = await startFakeDataApi();
      sql = api.sql;
      await migrate(sql, loadMigrations());
    });
    afterAll(async () => {
      await api?.stop();
    });

    it('after any inserts, updates and deletes, pruning and stale bases', async () => {
      await fc.assert(
        fc.asyncProperty(rounds, (generated) => checkRounds(sql, store, generated, false, 2)),
        { numRuns: 15 },
      );
    }, 180_000);
  });
});
