/**
 * What only the local stack (`npm start`, bin/local.ts) does for the ingest API: its gateway's own
 * envelope for an unknown route or method (API Gateway answers those itself when deployed), the data
 * directory it writes, and a restart on the same directory. The API itself is test/e2e/ingest.test.ts.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toneWav } from '../support/audio-fixtures';
import { expectRefusal, request } from '../support/http';
import { removeDataDir, type StackProcess, startStackProcess } from '../support/local-stack-process';

let stack: StackProcess;
const call = (method: string, path: string, init?: Parameters<typeof request>[3]) => request(stack.url, method, path, init);

beforeAll(async () => {
  stack = await startStackProcess();
  expect((await call('POST', '/sessions', { json: { session_id: 'session-456', candidate: 'Ada' } })).status).toBe(201);
  expect((await call('POST', '/sessions', { json: { session_id: 'audio-s' } })).status).toBe(201);
});

afterAll(async () => {
  await stack?.stop();
  await removeDataDir(stack.dataDir);
});

describe('the local gateway', () => {
  it('answers in the envelope for an unknown route or method', async () => {
    expectRefusal(await call('GET', '/no/such/route'), 404);
    expectRefusal(await call('PATCH', '/sessions/session-456'), 405);
  });
});

describe('the data directory', () => {
  it('holds no folder for an unknown session after a refused upload', async () => {
    expectRefusal(await call('POST', '/sessions/ghost/audio_chunks', { body: toneWav(), headers: { 'content-type': 'audio/wav' } }), 404);
    expect(existsSync(join(stack.dataDir, 'audio', 'ghost'))).toBe(false);
  });
});

describe('the process', () => {
  it('logs JSON lines and stops cleanly on SIGTERM, keeping every row and file across a restart', async () => {
    expect(stack.logs.some((line) => line.message === 'Local stack listening' && line.service === 'interview-ops')).toBe(true);
    // A fresh data directory: the first start applied them.
    expect(stack.logs.some((line) => line.message === 'Applied migrations')).toBe(true);
    const before = await call('GET', '/sessions/session-456');
    expect(before.status).toBe(200);
    const dataDir = stack.dataDir;
    expect(await stack.stop('SIGTERM')).toBe(0);

    stack = await startStackProcess({ dataDir });
    const after = await call('GET', '/sessions/session-456');
    expect(after.json.data).toEqual(before.json.data);
    // Migrations are recorded, so a restart applies none.
    expect(stack.logs.some((line) => line.message === 'Applied migrations')).toBe(false);
    const upload = await call('POST', '/sessions/audio-s/audio_chunks', { body: toneWav(), headers: { 'content-type': 'audio/wav' } });
    expect(upload.status).toBe(201);
  });
});
