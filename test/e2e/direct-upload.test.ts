/**
 * Direct upload of big chunks over real HTTP against the target: the client asks for an upload URL,
 * PUTs the audio there (the local gateway's signed-upload route under `npm start`, the twin's S3 with
 * its SigV4 checks under TARGET=twin), and the object's arrival makes the chunk and its transcript
 * through the same path as a raw-body upload.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realWav, toneWav } from '../support/audio-fixtures';
import { type ApiResponse, expectRefusal } from '../support/http';
import { keyOf, startTarget, TARGET_START_TIMEOUT_MS, type Target, targetKind } from '../support/target';

let target: Target;
const call: Target['request'] = (method, path, init) => target.request(method, path, init);
const SESSION = 'direct-upload-1';

interface Ticket {
  outcome: 'issued';
  chunk_id: string;
  upload_url: string;
  method: 'PUT';
  headers: Record<string, string>;
  expires_at: string;
}

const sha256Of = (bytes: Uint8Array, encoding: 'hex' | 'base64' = 'hex') => createHash('sha256').update(bytes).digest(encoding);

const requestUpload = (json: Record<string, unknown>, sessionId = SESSION) =>
  call('POST', `/sessions/${sessionId}/audio_chunks/uploads`, { json });

const ticketFor = async (bytes: Uint8Array, extra: Record<string, unknown> = {}): Promise<Ticket> => {
  const response = await requestUpload({ content_type: 'audio/wav', size_bytes: bytes.byteLength, ...extra });
  expect(response.status).toBe(201);
  return response.json.data as Ticket;
};

const put = (ticket: Ticket, body: Uint8Array, headers: Record<string, string> = ticket.headers) =>
  fetch(ticket.upload_url, { method: ticket.method, headers, body });

/** Polls GET /transcript until the automatic transcript is there. */
const awaitTranscript = async (sessionId: string, chunkId: string, seconds = 120): Promise<ApiResponse> => {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const response = await call('GET', `/transcript/${sessionId}/${chunkId}`);
    if (response.status === 200 || Date.now() > deadline) return response;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
};

beforeAll(async () => {
  target = await startTarget();
  expect((await call('POST', '/sessions', { json: { session_id: SESSION } })).status).toBe(201);
}, TARGET_START_TIMEOUT_MS);

afterAll(async () => {
  await target?.stop();
});

describe('POST /sessions/{session_id}/audio_chunks/uploads', () => {
  it('issues a PUT URL bounded to the type and size asked for, valid for an hour', async () => {
    const bytes = realWav('cards/001.wav');
    const response = await requestUpload({ content_type: 'audio/wav', size_bytes: bytes.length });
    expect(response.status).toBe(201);
    const ticket = response.json.data as Ticket;
    expect(Object.keys(ticket).sort()).toEqual(['chunk_id', 'expires_at', 'headers', 'method', 'outcome', 'session_id', 'upload_url']);
    expect(ticket.outcome).toBe('issued');
    expect(ticket.chunk_id).toMatch(/^[0-9]+$/);
    expect(ticket.method).toBe('PUT');
    expect(ticket.headers).toEqual({
      'content-type': 'audio/wav',
      'content-length': String(bytes.length),
      // On S3 the object's lifecycle tag is signed into the URL: the uploader sends it as written here.
      ...(targetKind() === 'twin' ? { 'x-amz-tagging': 'retention=expires' } : {}),
    });
    const lifetime = Date.parse(ticket.expires_at) - Date.now();
    expect(lifetime).toBeGreaterThan(3500_000);
    expect(lifetime).toBeLessThanOrEqual(3600_000);
    // No chunk until the audio arrives.
    expectRefusal(await call('GET', `/transcript/${SESSION}/${ticket.chunk_id}`), 404);
  });

  it('makes the same transcript from a direct upload as from the raw-body upload', { timeout: 240_000 }, async () => {
    const bytes = realWav('cards/004.wav');
    const raw = await call('POST', `/sessions/${SESSION}/audio_chunks`, { body: bytes, headers: { 'content-type': 'audio/wav' } });
    expect(raw.status).toBe(201);
    const ticket = await ticketFor(bytes);
    expect((await put(ticket, bytes)).status).toBe(200);
    const [viaRaw, viaDirect] = await Promise.all([
      awaitTranscript(SESSION, raw.json.data.chunk_id),
      awaitTranscript(SESSION, ticket.chunk_id),
    ]);
    expect(viaDirect.status).toBe(200);
    expect(viaRaw.status).toBe(200);
    expect(viaDirect.json.data.transcript).toBe(viaRaw.json.data.transcript);
    expect(viaDirect.json.data.transcript.length).toBeGreaterThan(0);
    expect(viaDirect.json.data.duration).toBe(viaRaw.json.data.duration);
    expect(keyOf(viaDirect.json.data.file_path)).toBe(`transcripts/${SESSION}/${SESSION}_${ticket.chunk_id}.txt`);
    expect(await target.readKey(`audio/${SESSION}/${ticket.chunk_id}.wav`)).toEqual(bytes);
  });

  it('takes a chunk over the raw-body limit, probing it without reading it whole', { timeout: 240_000 }, async () => {
    // 48 kHz stereo: 26 s is over 4 MiB, which the raw-body POST refuses.
    const bytes = toneWav({ sampleRate: 48000, channels: 2, seconds: 26 });
    expect(bytes.length).toBeGreaterThan(4 * 1024 * 1024);
    // 413 either way: from the service in its envelope locally, from Lambda's 6 MB payload limit on AWS.
    expect(
      (await call('POST', `/sessions/${SESSION}/audio_chunks`, { body: bytes, headers: { 'content-type': 'audio/wav' } })).status,
    ).toBe(413);
    const ticket = await ticketFor(bytes, { speaker: 'candidate', sequence: 40 });
    expect((await put(ticket, bytes)).status).toBe(200);
    const transcript = await awaitTranscript(SESSION, ticket.chunk_id);
    expect(transcript.status).toBe(200);
    expect(transcript.json.data).toMatchObject({ duration: 26, transcript: expect.any(String) });
  });

  it('refuses a PUT of another type or size, and stores nothing', async () => {
    const bytes = realWav('cards/001.wav');
    const ticket = await ticketFor(bytes);
    const key = `audio/${SESSION}/${ticket.chunk_id}.wav`;
    for (const attempt of [
      put(ticket, bytes, { ...ticket.headers, 'content-type': 'audio/ogg' }),
      put(ticket, bytes.subarray(0, bytes.length - 2), { 'content-type': 'audio/wav' }),
    ]) {
      const response = await attempt;
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
    }
    expect(await target.readKey(key)).toBeUndefined();
  });

  it('gives a repeated request for an awaited sequence the same chunk, and refuses a different one', async () => {
    const bytes = realWav('cards/001.wav');
    const first = await ticketFor(bytes, { sequence: 7 });
    const again = await ticketFor(bytes, { sequence: 7 });
    expect(again.chunk_id).toBe(first.chunk_id);
    expectRefusal(await requestUpload({ content_type: 'audio/wav', size_bytes: bytes.length + 1, sequence: 7 }), 409);
  });

  it('answers a repeat for an arrived sequence by its sha256: 200 with the chunk, else 409', { timeout: 120_000 }, async () => {
    const bytes = realWav('cards/001.wav');
    const ticket = await ticketFor(bytes, { sequence: 8, started_at: 2000 });
    expect(ticket.headers).not.toHaveProperty('x-amz-checksum-sha256');
    expect((await put(ticket, bytes)).status).toBe(200);
    expect((await awaitTranscript(SESSION, ticket.chunk_id)).status).toBe(200);
    const request = { content_type: 'audio/wav', size_bytes: bytes.length, sequence: 8 };

    const replayed = await requestUpload({ ...request, sha256: sha256Of(bytes) });
    expect(replayed.status).toBe(200);
    expect(replayed.json.data).toMatchObject({ outcome: 'replayed', chunk_id: ticket.chunk_id, sequence: 8, size_bytes: bytes.length });
    expect(replayed.json.data).not.toHaveProperty('upload_url');
    // The track carried over from the reservation through the arrival's claim.
    const session = await call('GET', `/sessions/${SESSION}`);
    expect(Date.parse(replayed.json.data.started_at) - Date.parse(session.json.data.created_at)).toBe(2000);

    const other = await requestUpload({ ...request, sha256: sha256Of(Buffer.from('other audio')) });
    expectRefusal(other, 409);
    expect(other.json.error).toContain(`chunk ${ticket.chunk_id}`);
    // Without a digest the bytes cannot be compared.
    expectRefusal(await requestUpload(request), 409);
  });

  it('signs a given sha256 into the URL: other bytes of the same size are refused and nothing is stored', async () => {
    const bytes = realWav('cards/002.wav');
    const ticket = await ticketFor(bytes, { sha256: sha256Of(bytes), sequence: 50 });
    expect(ticket.headers['x-amz-checksum-sha256']).toBe(sha256Of(bytes, 'base64'));
    const forged = Buffer.from(bytes);
    forged[forged.length - 1] = forged[forged.length - 1]! ^ 0xff;
    const refused = await put(ticket, forged);
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('BadDigest');
    expect(await target.readKey(`audio/${SESSION}/${ticket.chunk_id}.wav`)).toBeUndefined();
    // The same URL still takes the right bytes.
    expect((await put(ticket, bytes)).status).toBe(200);
  });

  it('compares a raw-body chunk and a direct upload of one sequence by the same sha256', async () => {
    const bytes = realWav('cards/003.wav');
    const raw = await call('POST', `/sessions/${SESSION}/audio_chunks?sequence=60`, {
      body: bytes,
      headers: { 'content-type': 'audio/wav' },
    });
    expect(raw.status).toBe(201);
    const replayed = await requestUpload({ content_type: 'audio/wav', size_bytes: bytes.length, sequence: 60, sha256: sha256Of(bytes) });
    expect(replayed.status).toBe(200);
    expect(replayed.json.data).toMatchObject({ outcome: 'replayed', chunk_id: raw.json.data.chunk_id });
  });

  it.each([
    ['an unknown session', 404, { content_type: 'audio/wav', size_bytes: 100 }, 'nobody-here'],
    ['a type nothing transcribes', 415, { content_type: 'text/plain', size_bytes: 100 }, SESSION],
    ['more than 500 MB', 413, { content_type: 'audio/wav', size_bytes: 500 * 1024 * 1024 + 1 }, SESSION],
    ['no size', 400, { content_type: 'audio/wav' }, SESSION],
    ['a zero size', 400, { content_type: 'audio/wav', size_bytes: 0 }, SESSION],
    ['an unknown field', 400, { content_type: 'audio/wav', size_bytes: 100, colour: 'red' }, SESSION],
    ['a bad speaker', 400, { content_type: 'audio/wav', size_bytes: 100, speaker: 'no spaces' }, SESSION],
    ['a sha256 that is not 64 hex digits', 400, { content_type: 'audio/wav', size_bytes: 100, sha256: 'abc' }, SESSION],
  ])('answers %s with %i', async (_label, status, json, sessionId) => {
    expectRefusal(await requestUpload(json, sessionId), status);
  });
});
