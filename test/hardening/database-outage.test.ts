/**
 * The database goes away and comes back: `npm start` on a real PostgreSQL server (DATABASE_URL) that is
 * stopped (a clean shutdown, then a crash) and started again on the same port. While it is down /health/deep
 * is a 503 naming the database, every route answers in the envelope (503 where it needs the database,
 * never a 500, never a hang) and nothing is written; once it is back the same process serves again
 * without a restart, its data intact, and the scheduler's snapshots resume.
 */
import { readdir, readFile } from 'node:fs/promises';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPgSql } from '../../functions/adapters/sql/pg';
import { isDomainError } from '../../functions/core/errors';
import { snapshotIdFromKey } from '../../functions/core/keys';
import { routeId, routes } from '../../functions/routes';
import { toneWav } from '../support/audio-fixtures';
import { request } from '../support/http';
import { removeDataDir, type StackProcess, startStackProcess } from '../support/local-stack-process';
import { type PostgresServer, startPostgresServer } from '../support/postgres-server';
import { type PostgresOutage, postgresOutage } from './support/postgres-outage';

/** A snapshot file under the data directory as JSON: manifests and pieces are stored gzipped. */
const storedJson = async (path: string) => {
  const bytes = await readFile(join(stack.dataDir, path));
  return JSON.parse((bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes).toString('utf8'));
};

import { collectJsonLines } from './support/process-logs';
import { sendRaw } from './support/raw-http';
import { type KnownIds, wellFormedRequest } from './support/route-requests';
import { expectSafeAnswer } from './support/safe-answer';

/** The pg adapter's own translation of a database outage: a core dependency_unavailable error, answered 503. */
const isDependencyFailure = (error: unknown) => isDomainError(error) && error.kind === 'dependency_unavailable';

/** Handlers that cannot answer without the database: each must say 503 while it is gone. */
const NEEDS_DATABASE = new Set([
  'health-deep',
  'create-session',
  'get-session',
  'upload-audio-chunk',
  'create-audio-upload',
  'record-code-history',
  'record-execution-result',
  'process-chunk',
  'erase-session',
  'place-session-hold',
  'release-session-hold',
]);

let postgres: PostgresServer;
let outage: PostgresOutage;
let stack: StackProcess;
let ids: KnownIds;

const call = (method: string, path: string, init?: Parameters<typeof request>[3]) => request(stack.url, method, path, init);

const objectsUnder = async (prefix: string) =>
  (await readdir(join(stack.dataDir, prefix), { recursive: true, withFileTypes: true }).catch(() => []))
    .filter((entry) => entry.isFile())
    .map((entry) => entry.name);

let errorLogs: Record<string, unknown>[] = [];
const scheduledFailures = () => errorLogs.filter((entry) => entry.message === 'Scheduled run failed');

/** Polls until the service says it is healthy; recovery takes a connection attempt, not a restart. */
const waitForHealth = async (): Promise<number> => {
  const deadline = Date.now() + 60_000;
  let status = 0;
  while (Date.now() < deadline) {
    status = (await call('GET', '/health/deep')).status;
    if (status === 200) return status;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return status;
};

beforeAll(async () => {
  postgres = await startPostgresServer();
  outage = await postgresOutage(postgres);
  // Scheduled snapshots every second, so their failures and their recovery both happen during the test.
  stack = await startStackProcess({ env: { DATABASE_URL: postgres.url, SNAPSHOT_INTERVAL_SECONDS: '1' } });
  errorLogs = collectJsonLines(stack.child.stderr!);
  expect((await call('POST', '/sessions', { json: { session_id: 'before-outage', candidate: 'Ada' } })).status).toBe(201);
  const chunk = await call('POST', '/sessions/before-outage/audio_chunks', {
    body: toneWav({ seconds: 0.5 }),
    headers: { 'content-type': 'audio/wav' },
  });
  expect(chunk.status).toBe(201);
  const snapshot = await call('POST', '/sandbox_snapshot/trigger');
  expect(snapshot.status).toBe(201);
  const listed = await call('GET', '/sandbox_snapshots?limit=1');
  ids = { sessionId: 'before-outage', chunkId: chunk.json.data.chunk_id, snapshotId: listed.json.data.snapshots[0].snapshot_id };
});

afterAll(async () => {
  await stack?.stop();
  if (stack) await removeDataDir(stack.dataDir);
  await postgres?.stop();
});

describe.each([
  ['a clean shutdown', 'fast'],
  ['a crash', 'immediate'],
] as const)('the database goes away in %s', (_name, mode) => {
  it('makes /health/deep a 503 naming the database, and every route answer in the envelope without a 500', async () => {
    expect((await call('GET', '/health/deep')).status).toBe(200);
    await outage.stop(mode);
    const outageStarted = Date.now();
    const audioBefore = await objectsUnder('audio');

    const health = await call('GET', '/health/deep');
    expect(health.status).toBe(503);
    expect(health.json).toEqual({ success: false, message: 'Service unhealthy', error: 'Unavailable: database' });

    for (const route of routes) {
      const outgoing = wellFormedRequest(route, ids);
      const response = await sendRaw(stack.url, outgoing);
      expectSafeAnswer(response, { ...outgoing, routeId: routeId(route), alsoAllowed: [503] });
      // The rest may answer from the store alone (the OpenAPI document, snapshots, a transcript already written).
      if (NEEDS_DATABASE.has(route.handler)) expect(response.status, routeId(route)).toBe(503);
    }
    // The upload was refused before its audio was written; the trigger (a 503) wrote no snapshot. The
    // scheduler may have: a quiet minute names the pieces of the last one without the database.
    expect(await objectsUnder('audio')).toEqual(audioBefore);
    for (const name of await objectsUnder('snapshots')) {
      const manifest = await storedJson(join('snapshots', name));
      if (manifest.format) expect(Date.parse(manifest.state.database_checked_at), name).toBeLessThan(outageStarted);
    }

    // Stay down until a scheduled run has met the outage: it failed (a change was pending) or took its
    // snapshot without the database.
    const failuresBefore = scheduledFailures().length;
    const snapshotsBefore = (await objectsUnder('snapshots')).length;
    const met = async () => scheduledFailures().length > failuresBefore || (await objectsUnder('snapshots')).length > snapshotsBefore;
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && !(await met())) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await met()).toBe(true);
  });

  it('serves again once the database is back, without a restart, with its data intact', async () => {
    const snapshotsDuringOutage = await objectsUnder('snapshots');
    await outage.start();
    expect(await waitForHealth()).toBe(200);

    const before = await call('GET', '/sessions/before-outage');
    expect(before.status).toBe(200);
    expect(before.json.data.candidate).toBe('Ada');
    const session = `after-${mode}`;
    expect((await call('POST', '/sessions', { json: { session_id: session } })).status).toBe(201);
    const chunk = await call('POST', `/sessions/${session}/audio_chunks`, {
      body: toneWav({ seconds: 0.5 }),
      headers: { 'content-type': 'audio/wav' },
    });
    expect(chunk.status).toBe(201);
    const processed = await call('POST', `/process_chunk/${chunk.json.data.chunk_id}`);
    expect(processed.status).toBe(200);

    // The scheduler kept ticking through the outage; its next runs take snapshots again, with the new rows.
    const sessionsInLatest = async (): Promise<string[]> => {
      const latest = await call('GET', '/sandbox_snapshot');
      expect(latest.status).toBe(200);
      return latest.json.data.data.sessions.map((row: { session_id: string }) => row.session_id);
    };
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && !(await sessionsInLatest()).includes(session)) await new Promise((resolve) => setTimeout(resolve, 250));
    expect(await sessionsInLatest()).toContain(session);
    expect((await objectsUnder('snapshots')).length).toBeGreaterThan(snapshotsDuringOutage.length);
  });
});

describe('the scheduled runs that fell in the outage', () => {
  it('failed with an error log each or read no database, and every snapshot written is whole', async () => {
    for (const failure of scheduledFailures()) expect(failure.level).toBe('ERROR');

    // A clean stop waits for the run in flight, so what is on disk afterwards is final.
    expect(await stack.stop()).toBe(0);
    expect(await readdir(join(stack.dataDir, '.tmp'))).toEqual([]);
    const names = await objectsUnder('snapshots');
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) {
      const manifest = await storedJson(join('snapshots', name));
      expect(manifest.snapshot_id, name).toBe(snapshotIdFromKey(`snapshots/${name}`));
      // Every piece it names is on disk and holds the rows the totals count.
      const rows: Record<string, number> = { sessions: 0, audio_chunks: 0 };
      for (const section of ['sessions', 'audio_chunks']) {
        for (const segment of manifest.segments[section]) {
          for (const piece of segment.pieces) rows[section]! += (await storedJson(piece.key)).length;
        }
      }
      expect(rows.sessions, name).toBe(manifest.metadata.total_sessions);
      expect(rows.audio_chunks, name).toBe(manifest.metadata.total_audio_chunks);
    }
  });
});

describe('a transaction open when the database goes away', () => {
  it('fails as a dependency failure instead of crashing the process, and the pool serves again after', async () => {
    const sql = await openPgSql(postgres.url, { maxConnections: 2 });
    try {
      let holding!: () => void;
      const held = new Promise<void>((resolve) => (holding = resolve));
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      // Between two statements, as a snapshot is while it streams its file: the client is checked out and idle.
      const transaction = sql.transaction(async (tx) => {
        await tx.query('SELECT 1 AS one');
        holding();
        await released;
        return tx.query('SELECT 2 AS two');
      });
      const outcome = transaction.then(
        () => 'committed',
        (error: unknown) => (isDependencyFailure(error) ? 'dependency failure' : `other failure: ${String(error)}`),
      );
      await held;
      await outage.stop('fast');
      release();
      expect(await outcome).toBe('dependency failure');

      await outage.start();
      expect(await sql.query('SELECT 3 AS three')).toEqual([{ three: 3 }]);
      expect(await sql.transaction((tx) => tx.query('SELECT 4 AS four'))).toEqual([{ four: 4 }]);
    } finally {
      await sql.close();
    }
  });
});

describe('a database that stops answering', () => {
  it('fails a connection to a server that accepts and never speaks as a dependency failure, not a hang', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const sql = await openPgSql(`postgres://nobody@127.0.0.1:${(silent.address() as AddressInfo).port}/none`, { connectTimeoutMs: 300 });
    try {
      const failure = await sql.query('SELECT 1 AS one').then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(Error);
      expect(isDependencyFailure(failure)).toBe(true);
    } finally {
      await sql.close();
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  }, 10_000);

  it('fails a statement that gets no answer in time as a dependency failure, in and out of a transaction, and serves again after', async () => {
    const sql = await openPgSql(postgres.url, { maxConnections: 2, queryTimeoutMs: 300 });
    try {
      const outside = await sql.query('SELECT pg_sleep(3)').then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(isDependencyFailure(outside)).toBe(true);
      const inside = await sql
        .transaction((tx) => tx.query('SELECT pg_sleep(3)'))
        .then(
          () => undefined,
          (error: unknown) => error,
        );
      expect(isDependencyFailure(inside)).toBe(true);
      expect(await sql.query('SELECT 5 AS five')).toEqual([{ five: 5 }]);
      expect(await sql.transaction((tx) => tx.query('SELECT 6 AS six'))).toEqual([{ six: 6 }]);
    } finally {
      await sql.close();
    }
  }, 20_000);
});
