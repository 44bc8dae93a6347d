/**
 * Snapshot growth (issue 16): at 10 thousand, 100 thousand, 1 million and 10 million rows, one minute
 * in which 0.1 % of the rows changed (new chunks, code entries, runs and sessions, and status updates of
 * the newest chunks and sessions, as interviews in progress write them), then the scheduled snapshot of
 * that minute, beside a full dump of the same state (the design before segments: every row read and
 * written as one document, the anchor). Then a minute with no change. Per size: rows and bytes read from
 * the database, store requests, bytes written, Data API calls and time. One PostgreSQL 15 server, seeded
 * with generate_series; the directory store.
 *
 * Data API calls are counted at the Sql port: the rds-data adapter makes one ExecuteStatement per query
 * and a BeginTransaction and CommitTransaction per transaction, and every page is built within the Data
 * API's limits by the same SQL. BENCH_GROWTH_MAX_ROWS (default 10,000,000) stops earlier sizes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadMigrations } from '../db/migrations';
import { DirectoryObjectStore } from '../functions/adapters/object-store/directory';
import { openPgSql } from '../functions/adapters/sql/pg';
import { migrate } from '../functions/core/migrations';
import type { Sql } from '../functions/core/ports/sql';
import { markingSnapshotChanges } from '../functions/core/snapshots/change-marker';
import { QUIET_DATABASE_CHECK_MS } from '../functions/core/snapshots/scheduled-snapshot';
import { PIECE_REFRESH_DAYS, type PieceWork, segmentLifetimeDays } from '../functions/core/snapshots/segment-pieces';
import { type DocumentProgress, snapshotDocument } from '../functions/core/snapshots/snapshot-document';
import { tableReaders } from '../functions/core/snapshots/snapshot-tables';
import { type SnapshotWork, takeSnapshot } from '../functions/core/snapshots/take-snapshot';
import { eventFunctions } from '../functions/routes';
import { type CountingObjectStore, countingObjectStore } from '../test/support/counting-object-store';
import { type PostgresServer, startPostgresServer } from '../test/support/postgres-server';
import { silentLogger } from '../test/support/silent-logger';
import { seed } from './snapshot';
import { loadCodeCorpus } from './support/code-corpus';
import { type Comparison, compare, markdownTable, type Progress } from './support/report';

/** BENCH_GROWTH_MIN_ROWS and BENCH_GROWTH_MAX_ROWS pick a subset of the sizes (10 million alone takes most of an hour). */
const SIZES = [10_000, 100_000, 1_000_000, 10_000_000].filter(
  (rows) => rows >= Number(process.env.BENCH_GROWTH_MIN_ROWS ?? 0) && rows <= Number(process.env.BENCH_GROWTH_MAX_ROWS ?? 10_000_000),
);
const CHANGED_PER_MINUTE = 0.001;
/** The scheduled function's timeout: each first-snapshot run gets this much time, as on Lambda. */
const SCHEDULED_TIMEOUT_MS = eventFunctions.find((definition) => definition.handler === 'take-scheduled-snapshot')!.timeoutSeconds * 1000;
/**
 * Minutes of changes measured after the first snapshot, the stretch the week is extrapolated from: long
 * enough for a minute's new pieces to be merged up to final pieces (segment-ranges.ts), so the stretch
 * pays its share of every merge tier. BENCH_GROWTH_MINUTES overrides it.
 */
const stretchMinutes = (rows: number): number =>
  Number(process.env.BENCH_GROWTH_MINUTES ?? (rows <= 10_000 ? 600 : rows <= 100_000 ? 150 : rows <= 1_000_000 ? 30 : 10));
const RETENTION_DAYS = 7;
const CORPUS = 2000;

/** An Sql that counts what the RDS Data API would be called for. */
const countingSql = (inner: Sql) => {
  const counter = { calls: 0 };
  const sql: Sql = {
    query: (statement, params) => {
      counter.calls += 1;
      return inner.query(statement, params);
    },
    transaction: (work, options) => {
      counter.calls += 2;
      return inner.transaction(
        (tx) =>
          work({
            query: (statement, params) => {
              counter.calls += 1;
              return tx.query(statement, params);
            },
          }),
        options,
      );
    },
    close: () => inner.close(),
  };
  return { sql, counter };
};

const requestsOf = (store: CountingObjectStore) => Object.values(store.counts).reduce((sum, count) => sum + count, 0);

/**
 * One minute of an interview platform at `changed` rows: 70 % new rows over the four tables, 30 % updates
 * of the newest chunks (transcription status) and sessions (metadata).
 */
/**
 * A new session's id: ids that grow with time, as the seed's do, so that new sessions come after today's
 * in key order (random ids land inside today's pieces: docs/benchmarks.md).
 */
const liveSession = (index: string) =>
  `'session-live-' || lpad(CAST(:minute AS text), 6, '0') || '-' || lpad(CAST(${index} AS text), 6, '0')`;

const changeOneMinute = async (sql: Sql, changed: number, minute: number) => {
  const pick = `1 + (i + CAST(:minute AS int) * 37) % ${CORPUS}`;
  const inserts = Math.max(4, Math.round(changed * 0.7));
  const updates = Math.max(2, changed - inserts);
  const sessions = Math.max(1, Math.round(inserts * 0.1));
  const chunks = Math.round(inserts * 0.3);
  const code = Math.round(inserts * 0.35);
  const runs = Math.max(0, inserts - sessions - chunks - code);
  await sql.query(
    `INSERT INTO sessions (session_id, candidate, metadata)
     SELECT ${liveSession('i')}, 'Candidate', jsonb_build_object('round', 1) FROM generate_series(1, CAST(:n AS int)) AS i`,
    { n: sessions, minute },
  );
  await sql.query(
    `INSERT INTO audio_chunks (session_id, content_type, audio_key, size_bytes, sample_rate, channels, duration)
     SELECT ${liveSession('1 + i % CAST(:sessions AS int)')}, 'audio/wav', 'audio/live/' || i || '.wav', 32044, 16000, 1, 1.0
     FROM generate_series(1, CAST(:n AS int)) AS i`,
    { n: chunks, sessions, minute },
  );
  await sql.query(
    `INSERT INTO code_history (session_id, code, language)
     SELECT ${liveSession('1 + i % CAST(:sessions AS int)')}, (SELECT code FROM bench_corpus WHERE id = ${pick}), 'python'
     FROM generate_series(1, CAST(:n AS int)) AS i`,
    { n: code, sessions, minute },
  );
  await sql.query(
    `INSERT INTO execution_results (session_id, stdout, stderr, exit_code, duration_ms)
     SELECT ${liveSession('1 + i % CAST(:sessions AS int)')}, (SELECT output FROM bench_corpus WHERE id = ${pick}), '', 0, 20.5
     FROM generate_series(1, CAST(:n AS int)) AS i`,
    { n: runs, sessions, minute },
  );
  await sql.query(
    `UPDATE audio_chunks SET transcript_status = 'done', transcript_updated_at = now()
     WHERE chunk_id > (SELECT max(chunk_id) FROM audio_chunks) - CAST(:n AS int)`,
    { n: Math.ceil(updates * 0.8) },
  );
  await sql.query(
    `UPDATE sessions SET metadata = metadata || jsonb_build_object('minute', CAST(:minute AS int))
     WHERE session_id IN (SELECT session_id FROM sessions ORDER BY created_at DESC LIMIT CAST(:n AS int))`,
    { n: Math.max(1, Math.floor(updates * 0.2)), minute },
  );
};

interface Measured {
  ms: number;
  databaseCalls: number;
  storeRequests: number;
  /** A published snapshot's work. */
  work?: SnapshotWork;
  /** A run that only continued the first snapshot's build: the pieces it wrote. */
  buildWork?: PieceWork;
}

/** The anchor: every row read in one transaction and written as one document, as snapshots were before segments. */
const fullDump = async (sql: Sql, store: CountingObjectStore, counter: { calls: number }, instant: Date) => {
  const callsBefore = counter.calls;
  const requestsBefore = requestsOf(store);
  const started = performance.now();
  const result = await sql.transaction(
    async (tx) => {
      const progress: DocumentProgress = { counts: { sessions: 0, audio_chunks: 0, code_history: 0, execution_results: 0 } };
      const key = `bench-full-dumps/${instant.getTime()}.json`;
      await store.putStream(key, snapshotDocument(tx, await tableReaders(tx), { timestamp: '', snapshot_id: '' }, progress));
      const rows = Object.values(progress.counts).reduce((sum, count) => sum + count, 0);
      return { rows, bytes: progress.metadata!.snapshot_size_bytes, key };
    },
    { isolation: 'repeatable read', readOnly: true },
  );
  const ms = performance.now() - started;
  await store.delete([result.key]);
  return {
    ms,
    rows: result.rows,
    bytes: result.bytes,
    databaseCalls: counter.calls - callsBefore,
    storeRequests: requestsOf(store) - requestsBefore - 1,
  };
};

export const runSnapshotGrowthBench = async (progress: Progress = (message) => console.error(message)): Promise<Comparison[]> => {
  const server: PostgresServer = await startPostgresServer({ settings: { shared_buffers: '1GB', max_wal_size: '8GB' } });
  const work = await mkdtemp(join(tmpdir(), 'interview-ops-bench-growth-'));
  // Seeding 10 million rows takes statements of minutes.
  const raw = await openPgSql(server.url, { maxConnections: 4, queryTimeoutMs: 3_600_000 });
  const results: Comparison[] = [];
  try {
    await migrate(raw, loadMigrations());
    await loadCodeCorpus(raw, CORPUS);
    for (const rows of SIZES) {
      const label = rows.toLocaleString('en-US');
      progress(`${label} rows: seeding`);
      await seed(raw, rows, CORPUS);
      const store = countingObjectStore(await new DirectoryObjectStore(join(work, `store-${rows}`)).open());
      const { sql: counted, counter } = countingSql(raw);
      // Writers move the change marker as the service's do.
      const writerSql = markingSnapshotChanges(raw, { store, logger: silentLogger });
      let now = Date.UTC(2031, 0, 1, 0, 0, 0);
      const deps = { sql: counted, store, logger: silentLogger, clock: { now: () => new Date(now) } };
      const scheduled = async (): Promise<Measured> => {
        const callsBefore = counter.calls;
        store.reset();
        const started = performance.now();
        // The invocation's remaining time, as the handler passes it from the Lambda context.
        const budget = { timeLeftMs: () => started + SCHEDULED_TIMEOUT_MS - performance.now() };
        const outcome = await takeSnapshot(deps, {
          instant: new Date(now),
          exclusive: true,
          quietFor: QUIET_DATABASE_CHECK_MS,
          retentionDays: RETENTION_DAYS,
          budget,
        });
        const ms = performance.now() - started;
        if (outcome.status === 'building') {
          return { ms, databaseCalls: counter.calls - callsBefore, storeRequests: requestsOf(store), buildWork: outcome.work };
        }
        if (outcome.status !== 'taken') throw new Error(`scheduled snapshot ${outcome.status}`);
        return { ms, databaseCalls: counter.calls - callsBefore, storeRequests: requestsOf(store), work: outcome.work };
      };
      progress(`${label} rows: first snapshot (every segment, stepwise over scheduled runs)`);
      // One scheduled minute after another until the build is published: each within the function's timeout.
      const firstRuns: Measured[] = [];
      do {
        firstRuns.push(await scheduled());
        if (!firstRuns.at(-1)!.work) now += 60_000;
      } while (!firstRuns.at(-1)!.work);
      const first = firstRuns.at(-1)!;
      const firstTotalMs = firstRuns.reduce((sum, run) => sum + run.ms, 0);
      // The state's pieces are written over every run of the build, not only the publishing one.
      const firstWritten = (pick: (work: PieceWork) => number) =>
        firstRuns.reduce((sum, run) => sum + pick((run.work ?? run.buildWork)!), 0);
      const firstLongestMs = Math.max(...firstRuns.map((run) => run.ms));
      progress(
        `${label} rows: first snapshot in ${firstRuns.length} runs (${firstRuns.map((run) => run.ms.toFixed(0)).join(', ')} ms), ${first.work!.piecesWritten} pieces in the last`,
      );

      // A stretch of minutes, each with 0.1 % of the rows changed, then its scheduled snapshot.
      const changed = Math.round(rows * CHANGED_PER_MINUTE);
      const stretch: Measured[] = [];
      const STRETCH_MINUTES = stretchMinutes(rows);
      for (let minute = 1; minute <= STRETCH_MINUTES; minute += 1) {
        now += 60_000;
        await changeOneMinute(writerSql, changed, minute);
        stretch.push(await scheduled());
      }
      const minute = stretch[0]!;
      store.reset();
      const anchor = await fullDump(counted, store, counter, new Date(now));
      const times = stretch.map((measured) => measured.ms).sort((a, b) => a - b);
      progress(
        `${label} rows: ${STRETCH_MINUTES} minutes with ${changed} changed: ${times[Math.floor(times.length / 2)]!.toFixed(0)} ms median, ${minute.work!.rowsRead} rows read in the first; full dump ${anchor.ms.toFixed(0)} ms`,
      );
      now += 60_000;
      const quiet = await scheduled();

      // Storage for a week at this rate, from what the stretch wrote (docs/benchmarks.md, Snapshot growth):
      // a manifest a minute kept R days, the pieces a minute wrote kept their lifetime L = R + 2 days, and
      // the state's pieces copied every 0.75 to 1 PIECE_REFRESH_DAYS and kept L days (counted at 0.75).
      const mean = (pick: (work: SnapshotWork) => number) =>
        stretch.reduce((sum, measured) => sum + pick(measured.work!), 0) / stretch.length;
      const lifetime = segmentLifetimeDays(RETENTION_DAYS);
      const manifestsStored = 1440 * RETENTION_DAYS * mean((work) => work.manifestBytes);
      const piecesStored = 1440 * lifetime * mean((work) => work.bytesWritten);
      const stateStored = (lifetime / (0.75 * PIECE_REFRESH_DAYS)) * firstWritten((work) => work.bytesWritten);
      const weekStored = manifestsStored + piecesStored + stateStored;
      const stateBytes = anchor.bytes;
      const [relations] = await raw.query<{ bytes: string }>(
        `SELECT CAST(pg_total_relation_size('sessions') + pg_total_relation_size('audio_chunks')
                     + pg_total_relation_size('code_history') + pg_total_relation_size('execution_results') AS text) AS bytes`,
      );
      const relationBytes = Number(relations!.bytes);
      const compression = firstWritten((work) => work.jsonBytesWritten) / firstWritten((work) => work.bytesWritten);
      const storage = {
        weekStoredBytes: Math.round(weekStored),
        manifests: Math.round(manifestsStored),
        pieces: Math.round(piecesStored),
        stateCopies: Math.round(stateStored),
        stateJsonBytes: stateBytes,
        relationBytes,
        ratioToJson: Number((weekStored / stateBytes).toFixed(2)),
        ratioToRelations: Number((weekStored / relationBytes).toFixed(2)),
        compression: Number(compression.toFixed(2)),
        manifestBytesPerMinute: Math.round(mean((work) => work.manifestBytes)),
        pieceBytesPerMinute: Math.round(mean((work) => work.bytesWritten)),
      };
      progress(`${label} rows: storage ${JSON.stringify(storage)}`);
      const note = (measured: Measured) =>
        JSON.stringify({
          database: measured.work!.database,
          rowsRead: measured.work!.rowsRead,
          bytesRead: measured.work!.bytesRead,
          segmentsRead: measured.work!.segmentsRead,
          piecesWritten: measured.work!.piecesWritten,
          bytesWritten: measured.work!.bytesWritten,
          jsonBytesWritten: measured.work!.jsonBytesWritten,
          manifestBytes: measured.work!.manifestBytes,
          manifestJsonBytes: measured.work!.manifestJsonBytes,
          storeRequests: measured.storeRequests,
          dataApiCalls: measured.databaseCalls,
        });
      const slowest = times.at(-1)!;
      results.push(
        compare({
          benchmark: 'snapshot growth',
          metric: `scheduled snapshot, ${label} rows, ${changed.toLocaleString('en-US')} changed (slowest of ${STRETCH_MINUTES} minutes)`,
          unit: 'ms',
          ours: slowest,
          anchor: anchor.ms,
          anchorName: `full dump: ${anchor.rows.toLocaleString('en-US')} rows, ${(anchor.bytes / 2 ** 20).toFixed(1)} MiB read and written, ${anchor.storeRequests} store requests, ${anchor.databaseCalls} Data API calls`,
          target: 'ours <= 5000 ms at every size',
          check: ({ ours }) => ours <= 5000,
          runs: STRETCH_MINUTES,
          note: `first minute ${note(minute)}; median ${times[Math.floor(times.length / 2)]!.toFixed(0)} ms`,
        }),
        compare({
          benchmark: 'snapshot growth',
          metric: `bytes read + written, ${label} rows, ${changed.toLocaleString('en-US')} changed (first minute)`,
          unit: 'bytes',
          ours: minute.work!.bytesRead + minute.work!.bytesWritten + minute.work!.manifestBytes,
          anchor: 2 * anchor.bytes,
          anchorName: 'full dump (bytes read + written)',
          runs: 1,
        }),
        compare({
          benchmark: 'snapshot growth',
          metric: `week of minute snapshots stored / database (row JSON), ${label} rows`,
          unit: 'x',
          ours: storage.ratioToJson,
          target: 'ours <= 10 (issue 16)',
          check: ({ ours }) => ours <= 10,
          runs: STRETCH_MINUTES,
          note: JSON.stringify(storage),
        }),
        compare({
          benchmark: 'snapshot growth',
          metric: `quiet minute, ${label} rows`,
          unit: 'ms',
          ours: quiet.ms,
          target: 'no Data API call',
          check: () => quiet.databaseCalls === 0,
          runs: 1,
          note: note(quiet),
        }),
        compare({
          benchmark: 'snapshot growth',
          metric: `first snapshot (every segment), ${label} rows: longest scheduled run`,
          unit: 'ms',
          ours: firstLongestMs,
          target: `every run within the scheduled function's ${SCHEDULED_TIMEOUT_MS / 1000} s`,
          check: ({ ours }) => ours < SCHEDULED_TIMEOUT_MS,
          runs: 1,
          note: `${firstRuns.length} runs: ${firstRuns.map((run) => Math.round(run.ms)).join(', ')} ms; last: ${note(first)}`,
        }),
        compare({
          benchmark: 'snapshot growth',
          metric: `first snapshot (every segment), ${label} rows: all runs`,
          unit: 'ms',
          ours: firstTotalMs,
          anchor: anchor.ms,
          anchorName: 'full dump',
          runs: 1,
          note: `${firstRuns.length} runs`,
        }),
      );
    }
    return results;
  } finally {
    await raw.close();
    await server.stop();
    await rm(work, { recursive: true, force: true });
  }
};

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const figures = await runSnapshotGrowthBench();
  console.log(markdownTable(figures));
}
