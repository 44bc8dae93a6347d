/**
 * What only the local stack (`npm start`) can show for snapshots: a restart on the same data directory,
 * with a file planted in it, and the in-process scheduler running every second. The routes themselves
 * are test/e2e/snapshots.test.ts.
 */
import { access, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../support/http';
import { newDataDir, removeDataDir, type StackProcess, startStackProcess } from '../support/local-stack-process';

let stack: StackProcess | undefined;
let dataDir: string;
const call = (method: string, path: string, init?: Parameters<typeof request>[3]) => request(stack!.url, method, path, init);

beforeAll(async () => {
  dataDir = await newDataDir('snapshots-restart');
  // An hour between scheduled runs: only the triggered snapshots exist before the restart.
  stack = await startStackProcess({ dataDir, env: { SNAPSHOT_INTERVAL_SECONDS: '3600' } });
  expect((await call('POST', '/sessions', { json: { session_id: 'snap-1', candidate: 'Ada' } })).status).toBe(201);
  expect((await call('POST', '/sandbox_snapshot/trigger')).status).toBe(201);
});

afterAll(async () => {
  await stack?.stop();
  if (dataDir) await removeDataDir(dataDir);
});

describe('after a restart, with the scheduler running every second', () => {
  it('keeps every snapshot, takes new ones on schedule and removes the expired', async () => {
    const before = (await call('GET', '/sandbox_snapshots')).json.data;
    expect(before.total_count).toBeGreaterThanOrEqual(1);
    const views = [];
    for (const snapshot of before.snapshots) views.push((await call('GET', `/sandbox_snapshot/${snapshot.snapshot_id}`)).json.data);
    await stack!.stop();
    // A snapshot from 2020, long past the 7-day retention: the scheduler's cleanup must remove it.
    await mkdir(join(dataDir, 'snapshots'), { recursive: true });
    const expired = join(dataDir, 'snapshots', 'snapshot_20200101_000000.json');
    await writeFile(expired, '{}');

    stack = await startStackProcess({ dataDir, env: { SNAPSHOT_INTERVAL_SECONDS: '1' } });
    for (const view of views) {
      const again = await call('GET', `/sandbox_snapshot/${view.snapshot_id}`);
      expect(again.status).toBe(200);
      expect(again.json.data).toEqual(view);
    }
    await expect
      .poll(async () => (await call('GET', '/sandbox_snapshots')).json.data.total_count, { timeout: 20_000, interval: 500 })
      .toBeGreaterThan(before.total_count);
    await expect
      .poll(
        () =>
          access(expired).then(
            () => 'present',
            () => 'removed',
          ),
        { timeout: 20_000, interval: 500 },
      )
      .toBe('removed');
    const latest = await call('GET', '/sandbox_snapshot');
    expect(latest.json.data.snapshot_id > before.snapshots[0].snapshot_id).toBe(true);
    // Log lines travel through the process's stdout and can trail what the API already shows.
    await expect.poll(() => stack!.logs.some((entry) => entry.message === 'Snapshot taken')).toBe(true);
  });
});
