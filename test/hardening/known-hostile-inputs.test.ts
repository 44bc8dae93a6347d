/**
 * The hostile inputs the generated suite found answered wrongly, pinned as plain examples so each fix
 * stays proven whatever the generator draws: NUL characters and deep nesting that PostgreSQL or
 * JSON.stringify choked on (500s), requests node:http cannot parse (a bare 400 outside the envelope),
 * and refusals sent before the body was read (a connection reset instead of an answer).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH } from '../../functions/http/api-handler';
import { startLocalStack, type LocalStack } from '../../functions/local/stack';
import { readSettings } from '../../functions/settings';
import { sendRaw, type RawResponse } from './support/raw-http';
import { expectSafeAnswer } from './support/safe-answer';

let stack: LocalStack;
let dataDir: string;

const send = async (method: string, target: string, init: { json?: string; headers?: Record<string, string>; body?: Uint8Array } = {}) => {
  const headers = { ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}), ...init.headers };
  const response = await sendRaw(stack.url, { method, target, headers, ...(init.json !== undefined ? { body: Buffer.from(init.json) } : init.body ? { body: init.body } : {}) });
  expectSafeAnswer(response, { method, target });
  return response;
};

const expectRefused = (response: RawResponse, status: number, error: RegExp) => {
  expect(response.status).toBe(status);
  expect(response.json.error).toMatch(error);
};

const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'interview-ops-known-hostile-'));
  stack = await startLocalStack(readSettings({ PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'SILENT', SNAPSHOT_INTERVAL_SECONDS: '3600' }));
  expect((await send('POST', '/sessions', { json: '{"session_id":"known"}' })).status).toBe(201);
});

afterAll(async () => {
  await stack?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('JSON that PostgreSQL cannot store', () => {
  it('refuses a NUL character in any string or key with a 400, not a database error', async () => {
    expectRefused(await send('POST', '/sessions/known/code_history', { json: '{"code":"a\\u0000b","language":"py"}' }), 400, /NUL/);
    expectRefused(await send('POST', '/sessions', { json: '{"candidate":"\\u0000"}' }), 400, /NUL/);
    expectRefused(await send('POST', '/sessions/known/execution_results', { json: '{"exit_code":0,"metadata":{"k\\u0000":1}}' }), 400, /NUL/);
    expectRefused(await send('POST', '/sessions/known/execution_results', { json: '{"exit_code":0,"stdout":"x","metadata":{"a":["\\u0000"]}}' }), 400, /NUL/);
  });

  it('still stores other control characters and unpaired surrogates', async () => {
    const stored = await send('POST', '/sessions/known/code_history', { json: '{"code":"a\\u0001\\t\\ud800b","language":"py"}' });
    expect(stored.status).toBe(201);
    expect(stored.json.data.code).toMatch(/^a\u0001\t.b$/u);
  });
});

describe('deeply nested JSON', () => {
  it(`accepts metadata nested within ${MAX_JSON_DEPTH} levels and refuses deeper bodies with a 400`, async () => {
    const shallow = await send('POST', '/sessions', { json: `{"metadata":${nested(MAX_JSON_DEPTH - 3)}}` });
    expect(shallow.status).toBe(201);
    expectRefused(await send('POST', '/sessions', { json: `{"metadata":${nested(MAX_JSON_DEPTH)}}` }), 400, /nest/);
    // Deep enough that JSON.stringify, which recurses, overflowed the stack: that was a 500.
    expectRefused(await send('POST', '/sessions', { json: `{"metadata":${nested(10_000)}}` }), 400, /nest/);
    expectRefused(await send('POST', '/sessions/known/code_history', { json: `${'['.repeat(200_000)}${']'.repeat(200_000)}` }), 400, /nest/);
  });
});

describe('requests node:http cannot parse', () => {
  it('answers bytes past ASCII in the request line with a 400 in the envelope', async () => {
    expectRefused(await send('GET', '/sessions/\u00e9\u00ff'), 400, /not valid HTTP/);
  });

  it('answers oversized headers with a 431 in the envelope', async () => {
    expectRefused(await send('GET', '/health', { headers: { 'x-padding': 'x'.repeat(64 * 1024) } }), 431, /not valid HTTP/);
  });
});

describe('refusals of requests with a large body', () => {
  it('reads the whole body before answering, so the client gets the answer rather than a reset', async () => {
    const body = Buffer.alloc(4 * 1024 * 1024);
    expect((await send('POST', '/no/such/route', { body, headers: { 'content-type': 'audio/wav' } })).status).toBe(404);
    expect((await send('PUT', '/sessions/known/audio_chunks', { body, headers: { 'content-type': 'audio/wav' } })).status).toBe(405);
    expect((await send('POST', '/sessions/%E0%A4%A/audio_chunks', { body, headers: { 'content-type': 'audio/wav' } })).status).toBe(400);
  });
});

describe('path traversal', () => {
  it('refuses ids that would leave their folder before any key or path is built', async () => {
    for (const target of [
      '/sessions/..%2F..%2Fetc%2Fpasswd',
      '/sandbox_snapshot/..%2F..%2Fsnapshots%2Fsnapshot_20240101_000000.json',
      '/transcripts/..%2Fknown',
      '/transcript/known/..%2F1',
      '/sessions/known%00/code_history',
      '/sessions/.pglite',
    ]) {
      const response = await send(target.startsWith('/sessions/known%00') ? 'POST' : 'GET', target, target.includes('code_history') ? { json: '{}' } : {});
      expect(response.status, target).toBe(400);
    }
  });
});
