/**
 * Issue 19's requirement on snapshots: a scheduled minute in which nothing changed does not touch the
 * database (so Aurora Serverless v2 can pause) and still has its snapshot; a write moves the change
 * marker and the next minute reads it; a write whose marker was lost is caught by the periodic check.
 * Against a real PostgreSQL 15 and the directory store, with every statement and transaction counted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations } from '../../../db/migrations';
import { DirectoryObjectStore } from '../../../functions/adapters/object-store/directory';
import { openPgSql } from '../../../functions/adapters/sql/pg';
import { snapshotSegmentWrittenAt } from '../../../functions/core/keys';
import { migrate } from '../../../functions/core/migrations';
import type { Sql } from '../../../functions/core/ports/sql';
import { createSession } from '../../../functions/core/sessions';
import { markingSnapshotChanges } from '../../../functions/core/snapshots/change-marker';
import { getSnapshot, readManifest } from '../../../functions/core/snapshots/read-snapshots';
import { QUIET_DATABASE_CHECK_MS, runScheduledSnapshot } from '../../../functions/core/snapshots/scheduled-snapshot';
import { PIECE_REFRESH_DAYS } from '../../../functions/core/snapshots/segment-pieces';
import { newDataDir, removeDataDir } from '../../support/local-stack-process';
import { type PostgresServer, startPostgresServer } from '../../support/postgres-server';
import { silentLogger } from '../../support/silent-logger';

const MINUTE = 60_000;

let server: PostgresServer;
let raw: Sql;
let dataDir: string;
let store: DirectoryObjectStore;
/** Statements and transactions that reached the database. */
let calls = 0;
let now = Date.UTC(2031, 2, 3, 4, 0, 0);

const counted = (): Sql => ({
  query: (statement, params) => {
    calls += 1;
    return raw.query(statement, params);
  },
  transaction: (work, options) => {
    calls += 1;
    return raw.transaction(work, options);
  },
  close: () => raw.close(),
});

const deps = () => {
  const clock = { now: () => new Date(now) };
  return {
    sql: markingSnapshotChanges(counted(), { store, logger: silentLogger }),
    store,
    clock,
    logger: silentLogger,
    snapshots: { retentionDays: 7, retentionEnforcedBy: 'bucket-lifecycle' as const },
  };
};

/** The scheduled run of the minute `now` is in, and the database calls it made. */
const tick = async () => {
  const before = calls;
  const report = await runScheduledSnapshot(deps(), new Date(now));
  expect(report.snapshot.status).toBe('taken');
  return { report, databaseCalls: calls - before };
};

const sessionIds = async (snapshotId: string) =>
  (await getSnapshot({ store }, snapshotId)).data!.sessions.map((row) => row.session_id).sort();

beforeAll(async () => {
  server = await startPostgresServer();
  raw = await openPgSql(server.url, { maxConnections: 4 });
  await migrate(raw, loadMigrations());
  dataDir = await newDataDir('quiet-minutes');
  store = await new DirectoryObjectStore(dataDir).open();
});

afterAll(async () => {
  await raw?.close();
  await server?.stop();
  if (dataDir) await removeDataDir(dataDir);
});

describe('scheduled snapshots in quiet minutes', () => {
  it('skip the database while nothing changed, and read it after a write', async () => {
    await createSession(deps(), { session_id: 'quiet-1' });
    const first = await tick();
    expect(first.databaseCalls).toBeGreaterThan(0);
    expect(first.report.snapshot.status === 'taken' && first.report.snapshot.work.database).toBe('full');

    for (let minute = 1; minute <= 3; minute += 1) {
      now += MINUTE;
      const quiet = await tick();
      expect(quiet.databaseCalls).toBe(0);
      expect(quiet.report.snapshot.status === 'taken' && quiet.report.snapshot.work.database).toBe('quiet');
      expect(await sessionIds(quiet.report.snapshot.snapshot_id)).toEqual(['quiet-1']);
    }

    await createSession(deps(), { session_id: 'quiet-2' });
    now += MINUTE;
    const changed = await tick();
    expect(changed.databaseCalls).toBeGreaterThan(0);
    // Only the new session is read: its id sorts after the last piece's range, so it is a new piece.
    expect(changed.report.snapshot.status === 'taken' && changed.report.snapshot.work).toMatchObject({ database: 'changes', rowsRead: 1 });
    expect(await sessionIds(changed.report.snapshot.snapshot_id)).toEqual(['quiet-1', 'quiet-2']);
  });

  it('catches a write whose marker was lost within the periodic database check', async () => {
    // As if the writer crashed between its commit and the marker's put.
    await raw.query(`INSERT INTO sessions (session_id) VALUES ('unmarked')`);
    now += MINUTE;
    const missed = await tick();
    expect(missed.databaseCalls).toBe(0);
    now += QUIET_DATABASE_CHECK_MS;
    const checked = await tick();
    expect(checked.databaseCalls).toBeGreaterThan(0);
    expect(await sessionIds(checked.report.snapshot.snapshot_id)).toEqual(['quiet-1', 'quiet-2', 'unmarked']);
  });

  it('copy pieces older than a day, so the lifecycle rule never removes one a manifest names', async () => {
    now += PIECE_REFRESH_DAYS * 24 * 60 * MINUTE + MINUTE;
    const aged = await tick();
    expect(aged.report.snapshot.status === 'taken' && aged.report.snapshot.work.piecesRefreshed).toBeGreaterThan(0);
    const manifest = await readManifest(store, aged.report.snapshot.key);
    const pieces = Object.values(manifest!.segments).flatMap((segments) => segments.flatMap((segment) => segment.pieces));
    for (const piece of pieces)
      expect(now - snapshotSegmentWrittenAt(piece.key)!.getTime()).toBeLessThan(PIECE_REFRESH_DAYS * 24 * 60 * MINUTE);
    expect(await sessionIds(aged.report.snapshot.snapshot_id)).toEqual(['quiet-1', 'quiet-2', 'unmarked']);
  });
});
