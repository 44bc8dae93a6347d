/**
 * A first snapshot built stepwise over several runs (first-snapshot-build.ts) gives exactly the state a
 * full read gives in its final transaction, with inserts, updates and deletes between the runs and while
 * a batch reads; a build whose change log was pruned past its S1 starts again; takeSnapshot publishes only
 * once the build is done; a trigger during a build answers 503 with Retry-After. On PostgreSQL 15 and
 * through the RDS Data API adapter against the limit-enforcing fake.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations } from '../../../db/migrations';
import { DirectoryObjectStore } from '../../../functions/adapters/object-store/directory';
import { openPgSql } from '../../../functions/adapters/sql/pg';
import { DomainError } from '../../../functions/core/errors';
import { SNAPSHOT_BUILD_KEY } from '../../../functions/core/keys';
import { migrate } from '../../../functions/core/migrations';
import type { Sql, SqlRunner } from '../../../functions/core/ports/sql';
import { currentDatabaseSnapshot, pruneChangesBefore } from '../../../functions/core/snapshots/changed-segments';
import { type BuildStep, buildAsBase, continueBuild, type SnapshotBuild } from '../../../functions/core/snapshots/first-snapshot-build';
import { metadataFor } from '../../../functions/core/snapshots/manifest';
import { assembleData, readSnapshot } from '../../../functions/core/snapshots/read-snapshots';
import { PieceWriter } from '../../../functions/core/snapshots/segment-pieces';
import { SEGMENT_KEY_SPAN, SNAPSHOT_TABLES } from '../../../functions/core/snapshots/snapshot-tables';
import { readChangedSegments, takeSnapshot } from '../../../functions/core/snapshots/take-snapshot';
import { triggerSnapshot } from '../../../functions/core/snapshots/trigger-snapshot';
import { errorResponse } from '../../../functions/http/envelope';
import { toPublicError } from '../../../functions/http/error-mapping';
import { type FakeDataApi, startFakeDataApi } from '../../adapters/sql/data-api/fake-data-api';
import { byKey, fullDocument } from '../../support/full-snapshot-read';
import { newDataDir, removeDataDir } from '../../support/local-stack-process';
import { type PostgresServer, startPostgresServer } from '../../support/postgres-server';
import { silentLogger } from '../../support/silent-logger';

const LIMITS = { maxRows: 7, maxBytes: 4000, sliceBytes: 64 };
/** No time left: every run reads exactly one segment, so the build takes one run per segment. */
const spent = { timeLeftMs: () => 0 };
const SESSIONS = ['a', 'b', 'c', 'd', 'e'];
/** Ids over four segments of every numeric table. */
const rowId = fc.integer({ min: 1, max: 4 * SEGMENT_KEY_SPAN - 1 });

type Operation =
  | { kind: 'session'; session: string; note: string }
  | { kind: 'code' | 'chunk'; session: string; id: number }
  | { kind: 'code-edit'; id: number; code: string }
  | { kind: 'delete-code' | 'delete-chunk'; id: number }
  | { kind: 'delete-session'; session: string };

const operation: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({ kind: fc.constant('session' as const), session: fc.constantFrom(...SESSIONS), note: fc.string({ maxLength: 10 }) }),
  fc.record({ kind: fc.constantFrom('code' as const, 'chunk' as const), session: fc.constantFrom(...SESSIONS), id: rowId }),
  fc.record({ kind: fc.constant('code-edit' as const), id: rowId, code: fc.string({ maxLength: 30 }) }),
  fc.record({ kind: fc.constantFrom('delete-code' as const, 'delete-chunk' as const), id: rowId }),
  fc.record({ kind: fc.constant('delete-session' as const), session: fc.constantFrom(...SESSIONS) }),
);

const apply = async (sql: SqlRunner, op: Operation): Promise<void> => {
  switch (op.kind) {
    case 'session':
      await sql.query(
        `INSERT INTO sessions (session_id, candidate) VALUES (:session, :note)
         ON CONFLICT (session_id) DO UPDATE SET candidate = EXCLUDED.candidate`,
        op,
      );
      return;
    case 'code':
      await sql.query(
        `INSERT INTO code_history (id, session_id, code, language) OVERRIDING SYSTEM VALUE
         SELECT :id, session_id, 'print(1)', 'python' FROM sessions WHERE session_id = :session ON CONFLICT (id) DO NOTHING`,
        op,
      );
      return;
    case 'chunk':
      await sql.query(
        `INSERT INTO audio_chunks (chunk_id, session_id, content_type, audio_key, size_bytes, sample_rate, channels, duration)
         SELECT :id, session_id, 'audio/wav', 'audio/x.wav', 3200, 16000, 1, 0.1 FROM sessions WHERE session_id = :session
         ON CONFLICT (chunk_id) DO NOTHING`,
        op,
      );
      return;
    case 'code-edit':
      await sql.query('UPDATE code_history SET code = :code WHERE id = :id', op);
      return;
    case 'delete-code':
      await sql.query('DELETE FROM execution_results WHERE code_history_id = :id', op);
      await sql.query('DELETE FROM code_history WHERE id = :id', op);
      return;
    case 'delete-chunk':
      await sql.query('DELETE FROM audio_chunks WHERE chunk_id = :id', op);
      return;
    case 'delete-session':
      await sql.query('DELETE FROM sessions WHERE session_id = :session', op);
      return;
  }
};

/** Rows in several segments of each numeric table, so the build takes several runs. */
const seedSpread = async (sql: Sql) => {
  for (const session of SESSIONS) await apply(sql, { kind: 'session', session, note: 'seed' });
  for (let segment = 0; segment < 4; segment += 1) {
    for (const offset of [1, 2, 3]) {
      const id = segment * SEGMENT_KEY_SPAN + offset;
      await apply(sql, { kind: 'code', session: SESSIONS[offset]!, id });
      await apply(sql, { kind: 'chunk', session: SESSIONS[offset]!, id });
    }
  }
};

const reset = async (sql: Sql, store: DirectoryObjectStore) => {
  await sql.query('TRUNCATE sessions, audio_chunks, code_history, execution_results, snapshot_changes, snapshot_change_horizon CASCADE');
  await store.delete([SNAPSHOT_BUILD_KEY]);
};

/**
 * Runs the build to its end with `between[i]` applied before run i+1 (and, on PostgreSQL, `during[i]` by
 * another connection while run i reads), then compares the final read on the build with a full read in
 * the same transaction.
 */
const buildAndCompare = async (
  sql: Sql,
  store: DirectoryObjectStore,
  between: readonly Operation[][],
  during: readonly Operation[][],
  concurrent: boolean,
): Promise<SnapshotBuild> => {
  const deps = { sql, store, clock: { now: () => new Date() } };
  let step: BuildStep;
  let run = 0;
  do {
    const writes = concurrent
      ? (async () => {
          for (const op of during[run] ?? []) await apply(sql, op);
        })()
      : Promise.resolve();
    step = await continueBuild(deps, { budget: spent, pageLimits: LIMITS });
    await writes;
    for (const op of between[run] ?? []) await apply(sql, op);
    run += 1;
    expect(step.status).not.toBe('busy');
  } while (step.status !== 'complete');
  const base = buildAsBase(step.build);
  const writer = new PieceWriter(store, new Date());
  const read = await sql.transaction(
    async (tx) => ({
      ...(await readChangedSegments(tx, base, writer, LIMITS)),
      full: await fullDocument(tx, { timestamp: '2030-01-01T00:00:00Z', snapshot_id: 'snapshot_1900000000' }),
    }),
    { isolation: 'repeatable read', readOnly: true },
  );
  // Built on the build, not a full read again.
  expect(read.mode).toBe('changes');
  const manifest = {
    ...base,
    segments: read.segments,
    metadata: metadataFor('2030-01-01T00:00:00Z', 'snapshot_1900000000', read.segments),
  };
  const data = await assembleData(store, manifest);
  for (const table of SNAPSHOT_TABLES)
    expect(byKey(data[table.section], table.key), table.section).toEqual(read.full.document.data[table.section]);
  expect(manifest.metadata.total_code_entries).toBe(read.full.document.metadata.total_code_entries);
  return step.build;
};

const changes = fc.array(fc.array(operation, { maxLength: 6 }), { maxLength: 12 });

const describeOn = (name: string, open: () => Promise<{ sql: Sql; close: () => Promise<void> }>, concurrent: boolean, numRuns: number) =>
  describe(name, () => {
    let sql: Sql;
    let close: () => Promise<void>;
    let dataDir: string;
    let store: DirectoryObjectStore;
    beforeAll(async () => {
      ({ sql, close } = await open());
      await migrate(sql, loadMigrations());
      dataDir = await newDataDir('first-snapshot-build');
      store = await new DirectoryObjectStore(dataDir).open();
    });
    afterAll(async () => {
      await close?.();
      if (dataDir) await removeDataDir(dataDir);
    });

    it('a build over several runs equals a full read in its final transaction, whatever is written meanwhile', async () => {
      await fc.assert(
        fc.asyncProperty(changes, changes, async (between, during) => {
          await reset(sql, store);
          await seedSpread(sql);
          const build = await buildAndCompare(sql, store, between, during, concurrent);
          // One run per segment that held rows at S1: sessions (one day), and four of each numeric table.
          expect(build.batches).toBeGreaterThanOrEqual(9);
        }),
        { numRuns },
      );
    });

    it('starts the build again when the change log was pruned past its S1', async () => {
      await reset(sql, store);
      await seedSpread(sql);
      const deps = { sql, store, clock: { now: () => new Date() } };
      const first = await continueBuild(deps, { budget: spent, pageLimits: LIMITS });
      expect(first.status).toBe('building');
      const second = await continueBuild(deps, { budget: spent, pageLimits: LIMITS });
      expect(second.status === 'building' && second.build.batches).toBe(2);
      await apply(sql, { kind: 'code-edit', id: 1, code: 'changed' });
      await pruneChangesBefore(sql, await currentDatabaseSnapshot(sql));
      const restarted = await continueBuild(deps, { budget: spent, pageLimits: LIMITS });
      expect(restarted.status === 'building' && restarted.build.batches).toBe(1);
      expect(restarted.status === 'building' && restarted.build.database_snapshot).not.toBe(
        first.status === 'building' && first.build.database_snapshot,
      );
    });

    it('takeSnapshot publishes only when the build is done, then builds on what it published', async () => {
      await reset(sql, store);
      await seedSpread(sql);
      const statuses: string[] = [];
      let second = 1_900_000_000;
      let outcome: Awaited<ReturnType<typeof takeSnapshot>>;
      do {
        const instant = new Date(second++ * 1000);
        outcome = await takeSnapshot(
          { sql, store, logger: silentLogger, clock: { now: () => instant } },
          { instant, budget: spent, pageLimits: LIMITS },
        );
        statuses.push(outcome.status);
        await apply(sql, { kind: 'code', session: 'a', id: second % (4 * SEGMENT_KEY_SPAN) });
      } while (outcome.status === 'building');
      expect(statuses.slice(0, -1).length).toBeGreaterThanOrEqual(9);
      expect(outcome).toMatchObject({ status: 'taken', work: { database: 'full' } });
      const view = await readSnapshot({ store }, outcome.snapshot_id);
      // The write after the last run is in the next snapshot, which builds on this one.
      const instant = new Date(second * 1000);
      const next = await takeSnapshot(
        { sql, store, logger: silentLogger, clock: { now: () => instant } },
        { instant, budget: spent, pageLimits: LIMITS },
      );
      expect(next).toMatchObject({ status: 'taken', work: { database: 'changes' } });
      const latest = await readSnapshot({ store }, next.snapshot_id);
      const full = await sql.transaction((tx) => fullDocument(tx, { timestamp: 'x', snapshot_id: 'y' }), { isolation: 'repeatable read' });
      for (const table of SNAPSHOT_TABLES)
        expect(byKey(latest!.data![table.section] as Record<string, unknown>[], table.key), table.section).toEqual(
          full.document.data[table.section],
        );
      expect(view!.metadata.total_code_entries).toBe(full.document.metadata.total_code_entries - 1);
    });

    it('a trigger during a build answers 503 with Retry-After', async () => {
      await reset(sql, store);
      await seedSpread(sql);
      const error = await triggerSnapshot({ sql, store, logger: silentLogger, clock: { now: () => new Date() } }, spent).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(DomainError);
      const failure = toPublicError(error);
      expect(failure).toMatchObject({ statusCode: 503, retryAfterSeconds: 60 });
      expect(errorResponse(failure.statusCode, failure.message, failure.error, failure.retryAfterSeconds).headers).toMatchObject({
        'retry-after': '60',
      });
    });
  });

describeOn(
  'on PostgreSQL, with writers on another connection',
  async () => {
    const server: PostgresServer = await startPostgresServer();
    const sql = await openPgSql(server.url, { maxConnections: 4 });
    return {
      sql,
      close: async () => {
        await sql.close();
        await server.stop();
      },
    };
  },
  true,
  20,
);

describeOn(
  'through the RDS Data API adapter and its limits',
  async () => {
    const api: FakeDataApi = await startFakeDataApi();
    return { sql: api.sql, close: () => api.stop() };
  },
  false,
  8,
);
