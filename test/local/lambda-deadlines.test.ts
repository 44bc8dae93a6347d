/**
 * The local stack gives each handler the Lambda deadline its function has on AWS (the timeouts of
 * functions/routes.ts, which the CDK stack deploys), so middy's early-timeout answer comes at the same
 * point in both; only inserted-chunk transcription gets longer, for its wait in the local recognizer's queue.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { localLambdaContext } from '../../functions/local/lambda-context';
import { type LocalStack, startLocalStack } from '../../functions/local/stack';
import { readSettings } from '../../functions/settings';
import { toneWav } from '../support/audio-fixtures';
import { request } from '../support/http';

vi.mock('../../functions/local/lambda-context', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../functions/local/lambda-context')>();
  return { localLambdaContext: vi.fn(actual.localLambdaContext) };
});

let stack: LocalStack;
let dataDir: string;

/** The deadline, in ms, each context was made with for `functionName`. */
const deadlinesOf = (functionName: string) =>
  vi
    .mocked(localLambdaContext)
    .mock.calls.filter(([name]) => name === functionName)
    .map(([, timeoutMs]) => timeoutMs);

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'interview-ops-deadlines-'));
  stack = await startLocalStack(readSettings({ PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'SILENT', SNAPSHOT_INTERVAL_SECONDS: '3600' }));
});

afterAll(async () => {
  await stack?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('Lambda deadlines in the local stack', () => {
  it('gives a plain route 25 s and a route that snapshots on request 29 s', async () => {
    expect((await request(stack.url, 'GET', '/sessions/nobody')).status).toBe(404);
    expect((await request(stack.url, 'POST', '/sandbox_snapshot/trigger')).status).toBe(201);
    expect(deadlinesOf('interview-ops-get-session')).toEqual([25_000]);
    expect(deadlinesOf('interview-ops-trigger-snapshot')).toEqual([29_000]);
  });

  it('gives the scheduled snapshot 55 s, and the transcription of an inserted chunk at least its 2 minutes', async () => {
    await stack.scheduler.tick();
    expect(deadlinesOf('interview-ops-take-scheduled-snapshot')).toEqual([55_000]);
    expect((await request(stack.url, 'POST', '/sessions', { json: { session_id: 'deadlines' } })).status).toBe(201);
    const upload = await request(stack.url, 'POST', '/sessions/deadlines/audio_chunks', {
      body: toneWav({ seconds: 0.2 }),
      headers: { 'content-type': 'audio/wav' },
    });
    expect(upload.status).toBe(201);
    await stack.settle();
    // Locally it also waits in the recognizer's queue (object-notifications.ts): more time, never less.
    const [transcribeDeadline] = deadlinesOf('interview-ops-transcribe-audio-chunk');
    expect(transcribeDeadline).toBeGreaterThanOrEqual(120_000);
  });
});
