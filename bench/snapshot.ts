/**
 * Snapshot benchmark: a snapshot of a seeded 200,000-row database (the core function over the pg
 * adapter into the directory store) against PostgreSQL's own JSON export of the same rows
 * (`COPY (SELECT row_to_json(t) FROM t) TO STDOUT` for the four tables, through psql into a file that is
 * then fsynced, as the store fsyncs a snapshot), on
 * one PostgreSQL 15 server (Debian's) that this script starts; median of several runs. Then the peak
 * RSS of a process taking a snapshot of 1,000,000 rows.
 *
 * `tsx bench/snapshot.ts` prints the figures; `runSnapshotBench()` returns them.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { finished } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { loadMigrations } from '../db/migrations';
import { DirectoryObjectStore } from '../functions/adapters/object-store/directory';
import { openPgSql } from '../functions/adapters/sql/pg';
import { migrate } from '../functions/core/migrations';
import type { Sql } from '../functions/core/ports/sql';
import { takeSnapshot } from '../functions/core/snapshots/take-snapshot';
import { type PostgresServer, startPostgresServer } from '../test/support/postgres-server';
import { silentLogger } from '../test/support/silent-logger';
import { type Comparison, compare, inAlternatingOrder, markdownTable, median, type Progress } from './support/report';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const ROWS = 200_000;
const RSS_ROWS = 1_000_000;
const RSS_LIMIT_MB = 256;
const TABLES = ['sessions', 'audio_chunks', 'code_history', 'execution_results'] as const;

/** Rows per table for a total: a session has about 3 chunks, 3.5 code entries and 2.5 runs. */
const split = (total: number) => {
  const sessions = Math.round(total * 0.1);
  const audio = Math.round(total * 0.3);
  const code = Math.round(total * 0.35);
  return { sessions, audio, code, executions: total - sessions - audio - code };
};

/**
 * Seeds the four tables with rows shaped like the API writes them, in one server-side pass each; code and
 * outputs from the first `corpus` entries of bench_corpus when given.
 */
export const seed = async (sql: Sql, total: number, corpus?: number) => {
  const n = split(total);
  await sql.query('TRUNCATE sessions, audio_chunks, code_history, execution_results, snapshot_changes RESTART IDENTITY CASCADE');
  // A seed is the state before any snapshot: its rows need no change log (migration 011's triggers).
  for (const table of TABLES) await sql.query(`ALTER TABLE ${table} DISABLE TRIGGER USER`);
  await sql.query(
    `INSERT INTO sessions (session_id, candidate, interviewer, metadata, created_at)
     SELECT 'session-' || lpad(i::text, 7, '0'), 'Candidate ' || i, 'Interviewer ' || (i % 50),
            jsonb_build_object('round', i % 5, 'track', 'backend', 'tags', jsonb_build_array('python', 'sql')),
            now() - make_interval(mins => i)
     FROM generate_series(1, CAST(:n AS int)) AS i`,
    { n: n.sessions },
  );
  await sql.query(
    `INSERT INTO audio_chunks (session_id, content_type, audio_key, size_bytes, sample_rate, channels, duration, transcript_status, created_at)
     SELECT 'session-' || lpad((1 + i % CAST(:sessions AS int))::text, 7, '0'), 'audio/wav',
            'audio/session-' || lpad((1 + i % CAST(:sessions AS int))::text, 7, '0') || '/' || i || '.wav',
            32044 + i % 1000, 16000, 1, 1.0 + (i % 100) / 10.0, 'done', now() - make_interval(secs => i)
     FROM generate_series(1, CAST(:n AS int)) AS i`,
    { n: n.audio, sessions: n.sessions },
  );
  // With a corpus (bench/support/code-corpus.ts) code and outputs are real text; without, one template.
  const code = corpus
    ? `(SELECT code FROM bench_corpus WHERE id = 1 + i % ${corpus})`
    : `'def solve(items):\n    # attempt ' || i || E'\n    seen = {}\n    for index, item in enumerate(items):\n' ||
            '        if item in seen:\n            return seen[item], index\n        seen[item] = index\n    return None  # ' || md5(i::text)`;
  const stdout = corpus
    ? `(SELECT output FROM bench_corpus WHERE id = 1 + c.id % ${corpus})`
    : `'ran ' || c.id || ' tests: ' || (c.id % 7) || ' passed' || E'\n'`;
  await sql.query(
    `INSERT INTO code_history (session_id, code, language, metadata, created_at)
     SELECT 'session-' || lpad((1 + i % CAST(:sessions AS int))::text, 7, '0'), ${code},
            'python', jsonb_build_object('editor', 'monaco', 'keystrokes', i % 977), now() - make_interval(secs => i)
     FROM generate_series(1, CAST(:n AS int)) AS i`,
    { n: n.code, sessions: n.sessions },
  );
  await sql.query(
    `INSERT INTO execution_results (session_id, code_history_id, stdout, stderr, exit_code, duration_ms, metadata, created_at)
     SELECT c.session_id, c.id, ${stdout}, CASE WHEN c.id % 9 = 0 THEN 'AssertionError' ELSE '' END,
            (c.id % 9 = 0)::int, 12.5 + c.id % 300, jsonb_build_object('runtime', 'python3.12'), c.created_at + interval '2 seconds'
     FROM code_history c WHERE c.id <= CAST(:n AS int)`,
    { n: n.executions },
  );
  for (const table of TABLES) await sql.query(`ALTER TABLE ${table} ENABLE TRIGGER USER`);
  await sql.query('VACUUM ANALYZE');
  const [counts] = await sql.query<Record<string, string>>(
    `SELECT (SELECT count(*) FROM sessions) + (SELECT count(*) FROM audio_chunks) + (SELECT count(*) FROM code_history)
            + (SELECT count(*) FROM execution_results) AS total`,
  );
  if (Number(counts!.total) !== total) throw new Error(`seeded ${counts!.total} rows, wanted ${total}`);
};

/** PostgreSQL's own JSON export of the four tables, as psql writes it to a file. */
const exportWithCopy = async (server: PostgresServer, outFile: string): Promise<number> => {
  const script = TABLES.map((table) => `COPY (SELECT row_to_json(t) FROM ${table} t) TO STDOUT;`).join('\n');
  const out = createWriteStream(outFile);
  const started = performance.now();
  const child = server.spawn('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', 'postgres', '-c', script]);
  child.stdout!.pipe(out);
  const [code] = await Promise.all([new Promise<number | null>((resolveExit) => child.once('close', resolveExit)), finished(out)]);
  // Made durable like a snapshot, which the store fsyncs before publishing it.
  const file = await open(outFile, 'r');
  await file.sync();
  await file.close();
  const elapsed = performance.now() - started;
  if (code !== 0) throw new Error(`psql export exited with ${code}`);
  return elapsed;
};

/** A first snapshot (every segment): `store` must hold no earlier one to build on. */
const snapshotOnce = async (sql: Sql, store: DirectoryObjectStore, instant: Date): Promise<{ ms: number; bytes: number }> => {
  const started = performance.now();
  const outcome = await takeSnapshot({ sql, store, logger: silentLogger, clock: { now: () => instant } }, { instant });
  const ms = performance.now() - started;
  if (outcome.status !== 'taken') throw new Error(`snapshot ${outcome.snapshot_id} was ${outcome.status}`);
  return { ms, bytes: outcome.metadata.snapshot_size_bytes };
};

/** In a child process, so its peak RSS is the snapshot's alone: `--rss-child <url> <dir>`. */
const rssChild = async (url: string, dir: string) => {
  const sql = await openPgSql(url, { maxConnections: 2 });
  const store = await new DirectoryObjectStore(dir).open();
  const result = await snapshotOnce(sql, store, new Date(Date.UTC(2031, 0, 1)));
  await sql.close();
  process.stdout.write(`${JSON.stringify({ ...result, maxRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`);
};

const measureRssInChild = (url: string, dir: string) =>
  new Promise<{ ms: number; bytes: number; maxRssBytes: number }>((resolveRun, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--rss-child', url, dir], {
      stdio: ['ignore', 'pipe', 'inherit'],
      cwd: resolve(import.meta.dirname, '..'),
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0) return reject(new Error(`snapshot child exited with ${code}`));
      resolveRun(JSON.parse(output.trim().split('\n').at(-1)!));
    });
  });

export const runSnapshotBench = async (progress: Progress = (message) => console.error(message)): Promise<Comparison[]> => {
  const server = await startPostgresServer({ settings: { shared_buffers: '256MB' } });
  const work = await mkdtemp(join(tmpdir(), 'interview-ops-bench-snapshot-'));
  const sql = await openPgSql(server.url, { maxConnections: 2 });
  try {
    await migrate(sql, loadMigrations());
    progress(`seeding ${ROWS} rows`);
    await seed(sql, ROWS);
    const store = await new DirectoryObjectStore(join(work, 'store')).open();
    // One untimed round each warms the server's caches and the adapter.
    await snapshotOnce(sql, store, new Date(Date.UTC(2030, 0, 1)));
    await exportWithCopy(server, join(work, 'export.jsonl'));
    const ours: number[] = [];
    const theirs: number[] = [];
    let snapshotBytes = 0;
    for (let run = 1; run <= RUNS; run += 1) {
      await inAlternatingOrder(
        run,
        async () => {
          // An empty store each run, so that every run reads and writes the whole state.
          const fresh = await new DirectoryObjectStore(join(work, `store-${run}`)).open();
          const result = await snapshotOnce(sql, fresh, new Date(Date.UTC(2030, 0, 1, 0, 0, run)));
          ours.push(result.ms);
          snapshotBytes = result.bytes;
          await rm(join(work, `store-${run}`), { recursive: true, force: true });
        },
        async () => theirs.push(await exportWithCopy(server, join(work, 'export.jsonl'))),
      );
      progress(`run ${run}/${RUNS}: snapshot ${ours.at(-1)!.toFixed(0)} ms, COPY export ${theirs.at(-1)!.toFixed(0)} ms`);
    }
    const exportBytes = (await stat(join(work, 'export.jsonl'))).size;

    const figures = [
      compare({
        benchmark: 'snapshot',
        metric: `snapshot of ${ROWS.toLocaleString('en-US')} rows`,
        unit: 'ms',
        ours: median(ours),
        anchor: median(theirs),
        anchorName: 'COPY row_to_json via psql, fsynced',
        target: 'ratio <= 1.3',
        check: ({ ratio }) => ratio !== undefined && ratio <= 1.3,
        runs: RUNS,
        note: `snapshot file ${(snapshotBytes / 2 ** 20).toFixed(1)} MiB, export ${(exportBytes / 2 ** 20).toFixed(1)} MiB`,
      }),
    ];
    // BENCH_SNAPSHOT_RSS=off skips the 1,000,000-row memory run (several minutes) when iterating on speed.
    if (process.env.BENCH_SNAPSHOT_RSS === 'off') return figures;
    progress(`seeding ${RSS_ROWS} rows for the memory run`);
    await seed(sql, RSS_ROWS);
    const rss = await measureRssInChild(server.url, join(work, 'rss-store'));
    progress(
      `1,000,000 rows: snapshot ${rss.ms.toFixed(0)} ms, ${(rss.bytes / 2 ** 20).toFixed(0)} MiB file, peak RSS ${(rss.maxRssBytes / 2 ** 20).toFixed(0)} MiB`,
    );
    return [
      ...figures,
      compare({
        benchmark: 'snapshot',
        metric: `peak RSS, snapshot of ${RSS_ROWS.toLocaleString('en-US')} rows`,
        unit: 'MiB',
        ours: rss.maxRssBytes / 2 ** 20,
        target: `ours <= ${RSS_LIMIT_MB}`,
        check: ({ ours: peak }) => peak <= RSS_LIMIT_MB,
        runs: 1,
        note: `${rss.ms.toFixed(0)} ms, file ${(rss.bytes / 2 ** 20).toFixed(0)} MiB`,
      }),
    ];
  } finally {
    await sql.close();
    await server.stop();
    await rm(work, { recursive: true, force: true });
  }
};

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv[2] === '--rss-child') await rssChild(process.argv[3]!, process.argv[4]!);
  else {
    const figures = await runSnapshotBench();
    console.log(JSON.stringify(figures, null, 2));
    console.log(markdownTable(figures));
    console.log(
      `load average at the end: ${loadavg()
        .map((load) => load.toFixed(1))
        .join(' ')} on ${cpus().length} cores`,
    );
  }
}
