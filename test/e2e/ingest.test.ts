/**
 * The ingest API over real HTTP, against the target: the real `npm start` entry point (bin/local.ts,
 * embedded PGlite and the directory store) or, with TARGET=twin, the twin of what `cdk deploy` ships.
 * What only the local stack does (its own 404/405 envelope, its data directory, a restart on the same
 * directory) is in test/local/ingest-local.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PUBLIC_ROUTE_THROTTLE } from '../../lib/http-api';
import { realWav, toneWav } from '../support/audio-fixtures';
import { expectRefusal } from '../support/http';
import { startTarget, TARGET_START_TIMEOUT_MS, type Target } from '../support/target';

let target: Target;
const call: Target['request'] = (method, path, init) => target.request(method, path, init);

beforeAll(async () => {
  target = await startTarget();
}, TARGET_START_TIMEOUT_MS);

afterAll(async () => {
  await target?.stop();
});

describe('GET /health', () => {
  it('answers liveness from the function alone, naming no dependency', async () => {
    const response = await call('GET', '/health');
    expect(response.status).toBe(200);
    expect(response.json).toEqual({ success: true, message: 'Service is healthy', data: { status: 'ok' } });
  });
});

describe('GET /health/deep', () => {
  it('checks the database and the store', async () => {
    const response = await call('GET', '/health/deep');
    expect(response.status).toBe(200);
    expect(response.json).toEqual({
      success: true,
      message: 'Service is healthy',
      data: { status: 'ok', checks: { database: 'ok', store: 'ok' } },
    });
  });
});

describe('GET /openapi.json', () => {
  it('serves the generated OpenAPI document itself, not wrapped in the envelope', async () => {
    const response = await call('GET', '/openapi.json');
    expect(response.status).toBe(200);
    expect(response.json.openapi).toBe('3.1.0');
    expect(Object.keys(response.json.paths)).toContain('/sessions/{session_id}/audio_chunks');
  });
});

describe('sessions', () => {
  it('creates a session with the given id and reads it back', async () => {
    const created = await call('POST', '/sessions', {
      json: { session_id: 'session-456', candidate: 'Ada', interviewer: 'Grace', metadata: { role: 'backend' } },
    });
    expect(created.status).toBe(201);
    expect(created.json.success).toBe(true);
    expect(created.json.data).toMatchObject({
      session_id: 'session-456',
      candidate: 'Ada',
      interviewer: 'Grace',
      metadata: { role: 'backend' },
    });
    expect(created.json.data.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);

    const fetched = await call('GET', '/sessions/session-456');
    expect(fetched.status).toBe(200);
    expect(fetched.json.data).toEqual(created.json.data);
  });

  it('generates an id when none is given', async () => {
    const created = await call('POST', '/sessions', { json: {} });
    expect(created.status).toBe(201);
    expect(created.json.data.session_id).toMatch(/^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/);
    expect((await call('GET', `/sessions/${created.json.data.session_id}`)).status).toBe(200);
  });

  it('answers 409 for a duplicate id', async () => {
    await call('POST', '/sessions', { json: { session_id: 'dup' } });
    expectRefusal(await call('POST', '/sessions', { json: { session_id: 'dup' } }), 409);
  });

  it('answers 404 for an unknown session', async () => {
    expectRefusal(await call('GET', '/sessions/nobody-here'), 404);
  });

  it.each([
    ['dot-dot', '/sessions/..%2F..%2Fetc'],
    ['a leading dash', '/sessions/-abc'],
    ['a NUL byte', '/sessions/a%00b'],
    ['unicode', '/sessions/%C3%A9t%C3%A9'],
    ['129 characters', `/sessions/${'a'.repeat(129)}`],
    ['bad percent-encoding', '/sessions/%E0%A4%A'],
  ])('answers 400 for an id with %s', async (_label, path) => {
    expectRefusal(await call('GET', path), 400);
  });

  it.each([
    ['invalid JSON', { body: '{"session_id":', headers: { 'content-type': 'application/json' } }],
    ['a wrong type', { json: { session_id: 42 } }],
    ['an extra field', { json: { session_id: 'x1', admin: true } }],
    ['a bad id', { json: { session_id: '../x' } }],
    ['a JSON array', { json: [1, 2] }],
  ])('answers 400 for a body with %s', async (_label, init) => {
    expectRefusal(await call('POST', '/sessions', init), 400);
  });

  it('answers 415 for a body that is not JSON', async () => {
    expectRefusal(
      await call('POST', '/sessions', { body: 'session_id=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
      415,
    );
  });

  it('answers 413 for a JSON body over 1 MiB', async () => {
    expectRefusal(await call('POST', '/sessions', { json: { metadata: { blob: 'x'.repeat(1024 * 1024) } } }), 413);
  });
});

describe('POST /sessions/{session_id}/audio_chunks', () => {
  beforeAll(async () => {
    await call('POST', '/sessions', { json: { session_id: 'audio-s' } });
  });

  it('stores a real recording, its row and its audio object', async () => {
    const bytes = realWav('cards/001.wav');
    const response = await call('POST', '/sessions/audio-s/audio_chunks', { body: bytes, headers: { 'content-type': 'audio/wav' } });
    expect(response.status).toBe(201);
    const chunk = response.json.data;
    expect(chunk).toMatchObject({ session_id: 'audio-s', content_type: 'audio/wav', size_bytes: bytes.length });
    expect(chunk.chunk_id).toMatch(/^\d+$/);
    expect(chunk.duration).toBeCloseTo(35052 / 2 / 16000, 6);
    expect(chunk.created_at).toMatch(/Z$/);
    const stored = await target.readKey(`audio/audio-s/${chunk.chunk_id}.wav`);
    expect(stored?.equals(bytes)).toBe(true);
  });

  it('gives each chunk its own increasing id', async () => {
    const upload = () => call('POST', '/sessions/audio-s/audio_chunks', { body: toneWav(), headers: { 'content-type': 'audio/wav' } });
    const first = await upload();
    const second = await upload();
    expect(BigInt(second.json.data.chunk_id)).toBeGreaterThan(BigInt(first.json.data.chunk_id));
  });

  it('answers 404 for an unknown session and stores nothing under any chunk id handed out meanwhile', async () => {
    const upload = (sessionId: string) =>
      call('POST', `/sessions/${sessionId}/audio_chunks`, { body: toneWav(), headers: { 'content-type': 'audio/wav' } });
    const before = BigInt((await upload('audio-s')).json.data.chunk_id);
    expectRefusal(await upload('ghost'), 404);
    const after = BigInt((await upload('audio-s')).json.data.chunk_id);
    expect(after).toBeGreaterThan(before);
    // The ids between the two (none, when the refusal allocated nothing) and the later one itself.
    for (let id = before + 1n; id <= after; id++) expect(await target.readKey(`audio/ghost/${id}.wav`)).toBeUndefined();
  });

  it('answers 415 for another media type', async () => {
    expectRefusal(
      await call('POST', '/sessions/audio-s/audio_chunks', { body: toneWav(), headers: { 'content-type': 'audio/mpeg' } }),
      415,
    );
    expectRefusal(
      await call('POST', '/sessions/audio-s/audio_chunks', { body: toneWav(), headers: { 'content-type': 'application/octet-stream' } }),
      415,
    );
  });

  it('answers 413 above the stated size limit', async () => {
    // ~4.2 MB > 4 MiB; base64 still under Lambda's 6 MB request limit, so the function itself answers.
    const huge = toneWav({ sampleRate: 48000, channels: 2, seconds: 22 });
    expectRefusal(await call('POST', '/sessions/audio-s/audio_chunks', { body: huge, headers: { 'content-type': 'audio/wav' } }), 413);
  });

  it.each([
    ['zero length', Buffer.alloc(0)],
    ['a truncated header', realWav().subarray(0, 30)],
    ['truncated samples', realWav().subarray(0, 2000)],
    ['random bytes', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256))],
    ['8-bit samples', toneWav({ bitDepth: '8' })],
  ])('answers 400 for %s', async (_label, body) => {
    expectRefusal(await call('POST', '/sessions/audio-s/audio_chunks', { body, headers: { 'content-type': 'audio/wav' } }), 400);
  });
});

describe('code history and execution results', () => {
  let codeId: string;

  beforeAll(async () => {
    await call('POST', '/sessions', { json: { session_id: 'code-s' } });
    await call('POST', '/sessions', { json: { session_id: 'other-s' } });
  });

  it('records code with its language', async () => {
    const response = await call('POST', '/sessions/code-s/code_history', {
      json: { code: 'print("hi")', language: 'python', metadata: { cursor: 3 } },
    });
    expect(response.status).toBe(201);
    expect(response.json.data).toMatchObject({ session_id: 'code-s', code: 'print("hi")', language: 'python', metadata: { cursor: 3 } });
    codeId = response.json.data.id;
    expect(codeId).toMatch(/^\d+$/);
  });

  it('records an execution result tied to a code entry', async () => {
    const response = await call('POST', '/sessions/code-s/execution_results', {
      json: { code_history_id: codeId, stdout: 'hi\n', stderr: '', exit_code: 0, duration_ms: 12.5 },
    });
    expect(response.status).toBe(201);
    expect(response.json.data).toMatchObject({
      session_id: 'code-s',
      code_history_id: codeId,
      stdout: 'hi\n',
      exit_code: 0,
      duration_ms: 12.5,
    });
  });

  it('records an execution result with no code entry', async () => {
    const response = await call('POST', '/sessions/code-s/execution_results', { json: { stdout: '', stderr: 'boom', exit_code: 1 } });
    expect(response.status).toBe(201);
    expect(response.json.data.code_history_id).toBeNull();
  });

  it('answers 404 for a code entry of another session', async () => {
    expectRefusal(await call('POST', '/sessions/other-s/execution_results', { json: { code_history_id: codeId, exit_code: 0 } }), 404);
  });

  it('answers 404 for an unknown session', async () => {
    expectRefusal(await call('POST', '/sessions/ghost/code_history', { json: { code: 'x', language: 'js' } }), 404);
  });

  it.each([
    ['a missing language', '/code_history', { code: 'x' }],
    ['an empty language', '/code_history', { code: 'x', language: '' }],
    ['code over 48 KiB', '/code_history', { code: 'é'.repeat(30_000), language: 'js' }],
    ['a missing exit code', '/execution_results', { stdout: '' }],
    ['a fractional exit code', '/execution_results', { exit_code: 1.5 }],
    ['a negative duration', '/execution_results', { exit_code: 0, duration_ms: -1 }],
    ['a non-numeric code id', '/execution_results', { exit_code: 0, code_history_id: 'abc' }],
  ])('answers 400 for %s', async (_label, suffix, json) => {
    expectRefusal(await call('POST', `/sessions/code-s${suffix}`, { json }), 400);
  });

  it('logs a refusal with the Lambda context of its invocation', async () => {
    expectRefusal(await call('POST', '/sessions/code-s/execution_results', { json: { exit_code: 'refused-for-the-log' } }), 400);
    // The log line travels through the process's stdout, so it can arrive just after the answer.
    const refusal = await vi.waitFor(() => {
      // 'interview-ops-record-execution-result' locally; named after the construct (RecordExecutionResult…) when deployed.
      const line = target.logs.findLast(
        (entry) => entry.message === 'Request refused' && /record-?execution-?result/i.test(String(entry.function_name)),
      );
      if (!line) throw new Error('no refusal logged yet');
      return line;
    });
    expect(refusal).toMatchObject({ status: 400, cold_start: false, function_request_id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
  });
});

describe("the public routes' own throttle", () => {
  it('answers a burst of GET /health with 429 beyond its route limit on the twin, leaving signed routes served', async () => {
    const statuses = await Promise.all(Array.from({ length: 30 }, async () => (await call('GET', '/health')).status));
    expect(statuses.every((status) => status === 200 || status === 429)).toBe(true);
    const served = statuses.filter((status) => status === 200).length;
    if (target.kind === 'twin') {
      // The template's RouteSettings for GET /health (lib/http-api.ts PUBLIC_ROUTE_THROTTLE: burst 10, 5/s),
      // far below the stage's burst of 100; a little refill while the burst is answered.
      expect(served).toBeGreaterThanOrEqual(PUBLIC_ROUTE_THROTTLE.burstLimit);
      expect(served).toBeLessThan(statuses.length);
      expect(served).toBeLessThanOrEqual(PUBLIC_ROUTE_THROTTLE.burstLimit + 5);
    } else {
      // npm start is a development server: it throttles nothing.
      expect(served).toBe(statuses.length);
    }
    expect((await call('GET', '/health/deep')).status).toBe(200);
  });
});
