/**
 * The store fails in the middle of a snapshot: the in-process local stack (PGlite, the directory store)
 * with its store wrapped so the next snapshot upload breaks after some of its segment pieces have gone
 * out, or at its manifest, for a trigger and for a scheduled run. No partial file may become visible, the failure answers in the
 * envelope, the snapshot transaction and its lock are released, and the next run succeeds.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useDependencies } from '../../functions/config';
import { snapshotIdFromKey } from '../../functions/core/keys';
import { type LocalStack, startLocalStack } from '../../functions/local/stack';
import { readSettings } from '../../functions/settings';
import { request } from '../support/http';
import { connectionReset, type FailingObjectStore, failingObjectStore } from './support/failing-object-store';
import { sendRaw } from './support/raw-http';
import { expectSafeAnswer } from './support/safe-answer';

let stack: LocalStack;
let store: FailingObjectStore;
let dataDir: string;

const call = (method: string, path: string, init?: Parameters<typeof request>[3]) => request(stack.url, method, path, init);

/** Just after the next whole second: snapshots are named by the second. */
const nextSecond = () => new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 20));

const listDir = async (path: string) => (await readdir(join(dataDir, path)).catch(() => [] as string[])).sort();

/** Every snapshot on disk is a manifest that names itself, and GET gives every row its metadata counts. */
const expectWholeSnapshots = async () => {
  const names = await listDir('snapshots');
  for (const name of names) {
    const manifest = JSON.parse(gunzipSync(await readFile(join(dataDir, 'snapshots', name))).toString('utf8'));
    const snapshotId = snapshotIdFromKey(`snapshots/${name}`);
    expect(manifest.snapshot_id, name).toBe(snapshotId);
    const { data, metadata } = (await call('GET', `/sandbox_snapshot/${snapshotId}`)).json.data;
    expect(data.sessions, name).toHaveLength(metadata.total_sessions);
    expect(data.code_history, name).toHaveLength(metadata.total_code_entries);
  }
  return names;
};

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'interview-ops-snapshot-fault-'));
  stack = await startLocalStack(readSettings({ PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'SILENT', SNAPSHOT_INTERVAL_SECONDS: '3600' }));
  store = failingObjectStore(stack.dependencies.store);
  // The handlers take their dependencies from here on every call; the stack's own store stays inside.
  useDependencies(Promise.resolve({ ...stack.dependencies, store }));
  for (let index = 0; index < 5; index += 1) {
    expect((await call('POST', '/sessions', { json: { session_id: `fault-${index}`, metadata: { index } } })).status).toBe(201);
    expect(
      (await call('POST', `/sessions/fault-${index}/code_history`, { json: { code: `x = ${index}`, language: 'python' } })).status,
    ).toBe(201);
  }
});

afterAll(async () => {
  await stack?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('the store fails in the middle of a triggered snapshot', () => {
  it('answers in the envelope and leaves no snapshot, whole or partial, behind', async () => {
    const broken = store.failNextUpload({ prefix: 'snapshot-segments/', afterPieces: 1, error: connectionReset() });
    const response = await sendRaw(stack.url, { method: 'POST', target: '/sandbox_snapshot/trigger', headers: {} });
    // Some of the segment pieces had gone out when the upload broke.
    expect((await broken).piecesPassed).toBe(1);
    expectSafeAnswer(response, { method: 'POST', target: '/sandbox_snapshot/trigger', alsoAllowed: [503] });
    expect(response.status).toBe(503);

    expect(await listDir('snapshots')).toEqual([]);
    expect(await listDir('.tmp')).toEqual([]);
    expect((await call('GET', '/sandbox_snapshot')).status).toBe(404);
    expect((await call('GET', '/sandbox_snapshots')).json.data.total_count).toBe(0);
  });

  it('succeeds on the next trigger, with every row in it', async () => {
    const response = await call('POST', '/sandbox_snapshot/trigger');
    expect(response.status).toBe(201);
    expect(response.json.data.metadata).toMatchObject({ total_sessions: 5, total_code_entries: 5 });
    expect(await expectWholeSnapshots()).toHaveLength(1);
  });
});

describe('the store fails in the middle of a scheduled snapshot', () => {
  it('writes nothing and releases the transaction and its lock, so the next run takes its snapshot', async () => {
    const before = await listDir('snapshots');
    // A fresh second: a run named by an instant already snapshotted is skipped before it uploads anything.
    await nextSecond();
    // Nothing changed since the trigger, so this run writes no piece: its manifest is what breaks.
    const broken = store.failNextUpload({ prefix: 'snapshots/', afterPieces: 0, error: connectionReset() });
    await stack.scheduler.tick();
    expect(
      await Promise.race([
        broken.then(({ piecesPassed }) => piecesPassed),
        new Promise((resolve) => setImmediate(() => resolve('no upload broke'))),
      ]),
    ).toBe(0);
    expect(await listDir('snapshots')).toEqual(before);
    expect(await listDir('.tmp')).toEqual([]);

    await nextSecond();
    await stack.scheduler.tick();
    const after = await expectWholeSnapshots();
    expect(after.length).toBe(before.length + 1);
  });

  it('retries the very same instant after a failure: the failed run left no file to collide with', async () => {
    // A trigger in one second that fails and is retried in the same second gets that second's snapshot.
    const before = await listDir('snapshots');
    await nextSecond();
    const broken = store.failNextUpload({ prefix: 'snapshots/', afterPieces: 0, error: connectionReset() });
    const failed = await call('POST', '/sandbox_snapshot/trigger');
    expect(await Promise.race([broken.then(() => 'broke'), new Promise((resolve) => setImmediate(() => resolve('no upload broke')))])).toBe(
      'broke',
    );
    const retried = await call('POST', '/sandbox_snapshot/trigger');
    expect([failed.status, retried.status]).toEqual([503, 201]);
    expect((await expectWholeSnapshots()).length).toBe(before.length + 1);
  });
});
