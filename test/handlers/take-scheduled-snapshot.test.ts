/**
 * The EventBridge handler as Lambda would call it, with a Scheduled Event, wired by functions/config.ts
 * to a real PostgreSQL server (DATABASE_URL) and a data directory: one snapshot per event time, a
 * repeated delivery skipped, and retention applied after the run.
 */
import { access, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { ScheduledEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dependencies } from '../../functions/core/dependencies';
import { currentDatabaseSnapshot, pruneChangesBefore } from '../../functions/core/snapshots/changed-segments';
import { BUILD_MARGIN_MS } from '../../functions/core/snapshots/first-snapshot-build';
import type { ScheduledSnapshotReport } from '../../functions/core/snapshots/scheduled-snapshot';
import { SEGMENT_KEY_SPAN } from '../../functions/core/snapshots/snapshot-tables';
import { localLambdaContext } from '../../functions/local/lambda-context';
import { scheduledEvent } from '../../functions/local/scheduler';
import { eventFunctions } from '../../functions/routes';
import { newDataDir, removeDataDir } from '../support/local-stack-process';
import { type PostgresServer, startPostgresServer } from '../support/postgres-server';

let server: PostgresServer;
let dataDir: string;
let invoke: (event: ScheduledEvent, timeoutMs?: number) => Promise<ScheduledSnapshotReport>;
let dependencies: () => Promise<Dependencies>;
let closeDependencies: () => Promise<void>;

beforeAll(async () => {
  server = await startPostgresServer();
  dataDir = await newDataDir('scheduled-snapshot');
  // Read by functions/settings.ts when the handler first builds its dependencies.
  Object.assign(process.env, {
    DATABASE_URL: server.url,
    DATA_DIR: dataDir,
    LOG_LEVEL: 'SILENT',
    TRANSCRIBER: 'aws-transcribe',
    SNAPSHOT_RETENTION_DAYS: '7',
  });
  const { handler } = await import('../../functions/handlers/take-scheduled-snapshot');
  const config = await import('../../functions/config');
  const { timeoutSeconds } = eventFunctions.find((definition) => definition.handler === 'take-scheduled-snapshot')!;
  invoke = (event, timeoutMs = timeoutSeconds * 1000) =>
    handler(event, localLambdaContext('take-scheduled-snapshot', timeoutMs)) as Promise<ScheduledSnapshotReport>;
  dependencies = config.dependencies;
  closeDependencies = async () => (await config.dependencies()).sql.close();
});

afterAll(async () => {
  await closeDependencies?.();
  await server?.stop();
  if (dataDir) await removeDataDir(dataDir);
});

const startMinute = Math.floor(Date.now() / 60_000) * 60_000;

describe('take-scheduled-snapshot', () => {
  it('takes the snapshot named by the event time, then removes the expired ones', async () => {
    await mkdir(join(dataDir, 'snapshots'), { recursive: true });
    const expired = join(dataDir, 'snapshots', 'snapshot_20200101_000000.json');
    await writeFile(expired, '{}');
    const time = new Date(startMinute);

    const report = await invoke(scheduledEvent(time, 'interview-ops-take-scheduled-snapshot'));
    const snapshotId = `snapshot_${time.getTime() / 1000}`;
    expect(report.snapshot).toMatchObject({ status: 'taken', snapshot_id: snapshotId });
    expect(report.cleanup).toMatchObject({ deleted_count: 1 });
    await expect(access(expired)).rejects.toMatchObject({ code: 'ENOENT' });

    const key = report.snapshot.key;
    // A gzipped manifest (docs/snapshots.md).
    const document = JSON.parse(gunzipSync(await readFile(join(dataDir, key))).toString('utf8'));
    expect(document.snapshot_id).toBe(snapshotId);
    expect(document.timestamp).toBe(time.toISOString().replace('.000Z', 'Z'));
  });

  it('skips a second delivery of the same event, leaving the first snapshot untouched', async () => {
    // The minute before the first test's, fixed once: read from the clock again, a minute boundary between the
    // two tests would name the first test's snapshot.
    const time = new Date(startMinute - 60_000);
    const event = scheduledEvent(time, 'interview-ops-take-scheduled-snapshot');
    const first = await invoke(event);
    expect(first.snapshot.status).toBe('taken');
    const before = await readFile(join(dataDir, first.snapshot.key));

    const again = await invoke({ ...event, id: 'redelivered' });
    expect(again.snapshot).toMatchObject({ status: 'skipped', reason: 'exists', snapshot_id: first.snapshot.snapshot_id });
    expect(await readFile(join(dataDir, first.snapshot.key))).toEqual(before);
    expect((await readdir(join(dataDir, 'snapshots'))).filter((name) => name === first.snapshot.key.split('/')[1])).toHaveLength(1);
  });

  it('with too little time left, builds a snapshot the change log no longer covers over several invocations', async () => {
    const { sql } = await dependencies();
    await sql.query(`INSERT INTO sessions (session_id) VALUES ('stepwise')`);
    for (const id of [1, SEGMENT_KEY_SPAN + 1, 2 * SEGMENT_KEY_SPAN + 1]) {
      await sql.query(
        `INSERT INTO code_history (id, session_id, code, language) OVERRIDING SYSTEM VALUE VALUES (:id, 'stepwise', 'print(1)', 'python')`,
        { id },
      );
    }
    // Past every manifest's database snapshot: nothing is left to build on.
    await pruneChangesBefore(sql, await currentDatabaseSnapshot(sql));
    const statuses: string[] = [];
    let report: ScheduledSnapshotReport;
    let minute = startMinute + 60_000;
    do {
      // A context with less time left than the build keeps back: each invocation reads one segment and saves the build.
      report = await invoke(scheduledEvent(new Date(minute), 'interview-ops-take-scheduled-snapshot'), BUILD_MARGIN_MS - 5_000);
      statuses.push(report.snapshot.status);
      minute += 60_000;
    } while (report.snapshot.status === 'building' && statuses.length < 20);
    // One session segment and three code segments, one an invocation, then the publishing run.
    expect(statuses).toEqual(['building', 'building', 'building', 'building', 'taken']);
    const document = JSON.parse(gunzipSync(await readFile(join(dataDir, report.snapshot.key))).toString('utf8'));
    expect(document.metadata.total_code_entries).toBe(3);
  });
});
