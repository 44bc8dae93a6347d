/**
 * Hostile input, generated: for every route of the route table (so a new route is covered as soon as
 * it is added), fast-check drives hundreds of requests with traversal and malformed path segments,
 * query strings, broken or oversized JSON and truncated, mislabelled or random audio against the real
 * `npm start` stack. Every answer must be a 2xx or 4xx in the envelope with nothing of the server in it,
 * and afterwards no file outside DATA_DIR may have been read or written, nor any stray file inside it.
 */
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiHandler } from '../../functions/http/api-handler';
import { loadHandler } from '../../functions/handler-modules';
import { routeId, routes } from '../../functions/routes';
import { toneWav } from '../support/audio-fixtures';
import { request } from '../support/http';
import { startStackProcess, type StackProcess } from '../support/local-stack-process';
import { plantSentinel, readFileTree, treeChanges, type FileTree } from './support/file-tree';
import { hostileRequest, type Fixtures } from './support/hostile-requests';
import { sendRaw } from './support/raw-http';
import { expectSafeAnswer } from './support/safe-answer';

/** Generated requests per run, spread evenly over the routes (the issue asks for at least 500). */
const TOTAL_CASES = 640;
const casesPerRoute = Math.ceil(TOTAL_CASES / routes.length);

const SIBLING = 'data-sibling';

let root: string;
let dataDir: string;
let siblingDir: string;
let scratchDir: string;
let stack: StackProcess;
let fixtures: Fixtures;
let siblingBefore: FileTree;
let dataBefore: FileTree;
let sent = 0;

beforeAll(async () => {
  // DATA_DIR, a sibling whose name extends it (a prefix check that forgets the separator would let
  // "../data-sibling" through), and the process's TMPDIR, side by side under one root.
  root = await mkdtemp(join(tmpdir(), 'interview-ops-hostile-'));
  dataDir = join(root, 'data');
  siblingDir = join(root, SIBLING);
  scratchDir = join(root, 'tmp');
  await Promise.all([mkdir(dataDir), mkdir(scratchDir)]);
  await plantSentinel(siblingDir);
  stack = await startStackProcess({ dataDir, env: { TMPDIR: scratchDir, SNAPSHOT_INTERVAL_SECONDS: '3600' } });

  const sessionId = 'fixture-session';
  expect((await request(stack.url, 'POST', '/sessions', { json: { session_id: sessionId } })).status).toBe(201);
  const chunk = await request(stack.url, 'POST', `/sessions/${sessionId}/audio_chunks`, {
    body: toneWav({ seconds: 0.5 }),
    headers: { 'content-type': 'audio/wav' },
  });
  expect(chunk.status).toBe(201);
  expect((await request(stack.url, 'POST', `/sessions/${sessionId}/code_history`, { json: { code: 'print(1)', language: 'python' } })).status).toBe(201);
  const snapshot = await request(stack.url, 'POST', '/sandbox_snapshot/trigger');
  expect(snapshot.status).toBe(201);
  fixtures = { sessionId, chunkId: chunk.json.data.chunk_id, snapshotId: snapshot.json.data.snapshot_id, siblingName: SIBLING };

  siblingBefore = await readFileTree(siblingDir);
  dataBefore = await readFileTree(dataDir, { skip: (path) => path.startsWith('.pglite') });
});

afterAll(async () => {
  await stack?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

describe.each(routes.map((route) => [routeId(route), route] as const))('%s', (id, route) => {
  it(`answers ${casesPerRoute} generated hostile requests with a 2xx or 4xx in the envelope`, async () => {
    const handler = (await loadHandler(route.handler)) as unknown as ApiHandler;
    await fc.assert(
      fc.asyncProperty(hostileRequest(route, handler.requestSchemas, fixtures), async (hostile) => {
        sent += 1;
        const response = await sendRaw(stack.url, hostile);
        expectSafeAnswer(response, { method: hostile.method, target: hostile.target, routeId: hostile.method === route.method ? id : undefined });
      }),
      { numRuns: casesPerRoute },
    );
  });
});

/** Keys the service writes, as ARCHITECTURE.md lays them out; `\1` ties a transcript's name to its folder. */
const OBJECT_KEY = [
  /^audio\/([A-Za-z0-9][A-Za-z0-9_-]{0,127})\/[0-9]{1,18}\.(wav|flac|ogg)$/,
  /^transcripts\/([A-Za-z0-9][A-Za-z0-9_-]{0,127})\/\1_[0-9]{1,18}\.txt$/,
  /^transcript-details\/([A-Za-z0-9][A-Za-z0-9_-]{0,127})\/\1_[0-9]{1,18}\.json$/,
  /^snapshots\/snapshot_[0-9]{8}_[0-9]{6}\.json$/,
];
const isObjectKey = (key: string) => OBJECT_KEY.some((pattern) => pattern.test(key));
const isAllowedDirectory = (path: string) =>
  /^(\.meta\/)?(audio|transcripts|transcript-details)(\/[A-Za-z0-9][A-Za-z0-9_-]{0,127})?$/.test(path) ||
  /^(\.meta\/)?snapshots$/.test(path) ||
  path === '.meta' ||
  path === '.tmp';
const isAllowedFile = (path: string) => isObjectKey(path) || (path.startsWith('.meta/') && path.endsWith('.json') && isObjectKey(path.slice(6, -5)));

describe('the file system afterwards', () => {
  it(`sent at least 500 generated requests`, () => {
    expect(sent).toBeGreaterThanOrEqual(500);
  });

  it('reads and writes nothing outside DATA_DIR, and nothing inside it but objects laid out by key', async () => {
    // Stopping drains in-flight transcriptions, so the tree below is final.
    expect(await stack.stop()).toBe(0);

    const sibling = treeChanges(siblingBefore, await readFileTree(siblingDir));
    expect(sibling, 'files beside DATA_DIR were touched').toEqual({ added: [], removed: [], changed: [] });
    expect((await readdir(root)).sort()).toEqual(['data', SIBLING, 'tmp']);

    const scratch = [...(await readFileTree(scratchDir)).keys()];
    // The recognizer's own FIFO and PCM files, and the TypeScript loader's compile cache, are the only writers there.
    const strays = scratch.filter(
      (path) => !/^interview-ops-pocketsphinx-[^/]+(\/(ctl\.fifo|out\.hyp|out\.ctm|u[0-9]+\.raw))?$/.test(path) && !/^tsx-[0-9]+(\/|$)/.test(path),
    );
    expect(strays, 'files written to TMPDIR').toEqual([]);

    const after = await readFileTree(dataDir, { skip: (path) => path.startsWith('.pglite') });
    const unexpected = [...after.entries()]
      .filter(([path, facts]) => (facts.kind === 'directory' ? !isAllowedDirectory(path) : facts.kind !== 'file' || !isAllowedFile(path)))
      .map(([path]) => path);
    expect(unexpected, 'files under DATA_DIR outside the key layout').toEqual([]);
    expect([...after.keys()].filter((path) => path.startsWith('.tmp/')), 'temporary files left behind').toEqual([]);

    // Audio and snapshots are written once and never replaced.
    const immutable = [...dataBefore.keys()].filter((path) => /^(audio|snapshots)\//.test(path));
    expect(immutable.length).toBeGreaterThanOrEqual(2);
    const { removed, changed } = treeChanges(dataBefore, after, ['kind', 'size', 'sha256']);
    expect(removed.filter((path) => immutable.includes(path))).toEqual([]);
    expect(changed.filter((path) => immutable.includes(path))).toEqual([]);
  });
});
