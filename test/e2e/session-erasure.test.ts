/**
 * Erasure and legal hold over real HTTP, against the target: `npm start` or, with TARGET=twin, the twin
 * of what `cdk deploy` ships (where the new functions' IAM roles must allow exactly the listing, deleting
 * and tagging they do). A transcribed session is held, refused erasure, released and erased; then every
 * trace of it (rows, audio, transcript, details, search hits) is checked gone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realWav } from '../support/audio-fixtures';
import { expectRefusal } from '../support/http';
import { startTarget, TARGET_START_TIMEOUT_MS, type Target } from '../support/target';

let target: Target;
const call: Target['request'] = (method, path, init) => target.request(method, path, init);

const SESSION = 'erasure-e2e';
let chunkId: string;
let word: string;

beforeAll(async () => {
  target = await startTarget();
  expect((await call('POST', '/sessions', { json: { session_id: SESSION, candidate: 'Ada' } })).status).toBe(201);
  const uploaded = await call('POST', `/sessions/${SESSION}/audio_chunks`, { body: realWav(), headers: { 'content-type': 'audio/wav' } });
  expect(uploaded.status).toBe(201);
  chunkId = uploaded.json.data.chunk_id;
  const code = await call('POST', `/sessions/${SESSION}/code_history`, { json: { code: 'print(1)', language: 'python' } });
  expect(code.status).toBe(201);
  const result = await call('POST', `/sessions/${SESSION}/execution_results`, {
    json: { code_history_id: code.json.data.id, stdout: '1', stderr: '', exit_code: 0 },
  });
  expect(result.status).toBe(201);
  // The automatic transcript comes after the upload answers; the twin's recognizer runs at real time.
  const deadline = Date.now() + 90_000;
  let transcript = await call('GET', `/transcript/${SESSION}/${chunkId}`);
  while (transcript.status !== 200 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    transcript = await call('GET', `/transcript/${SESSION}/${chunkId}`);
  }
  expect(transcript.status).toBe(200);
  // The longest word: short ones may be English stop words, which full-text search never matches.
  word = String(transcript.json.data.transcript)
    .split(/\W+/)
    .reduce((longest, candidate) => (candidate.length > longest.length ? candidate : longest), '');
  expect(word.length).toBeGreaterThan(3);
  // The text file is written before the row is marked done with its search text: wait for the row.
  const searchDeadline = Date.now() + 30_000;
  while ((await searchHits()) === 0 && Date.now() < searchDeadline) await new Promise((resolve) => setTimeout(resolve, 250));
}, TARGET_START_TIMEOUT_MS + 120_000);

afterAll(async () => {
  await target?.stop();
});

const searchHits = async () =>
  (await call('GET', `/search/transcripts?q=${encodeURIComponent(word)}&session_id=${SESSION}`)).json.data.results.length as number;

const transcriptKeys = () => [
  `audio/${SESSION}/${chunkId}.wav`,
  `transcripts/${SESSION}/${SESSION}_${chunkId}.txt`,
  `transcript-details/${SESSION}/${SESSION}_${chunkId}.json`,
];

describe('legal hold and erasure', () => {
  it('holds a session, refuses its erasure, releases it, then erases everything and says what it removed', async () => {
    expect(await searchHits()).toBe(1);
    for (const key of transcriptKeys()) expect(await target.readKey(key), key).toBeDefined();

    const held = await call('PUT', `/sessions/${SESSION}/hold`, { json: { reason: 'Dispute #42' } });
    expect(held.status).toBe(200);
    expect(held.json).toMatchObject({ success: true, data: { session_id: SESSION, held: true, reason: 'Dispute #42' } });

    const refused = await call('DELETE', `/sessions/${SESSION}`);
    expectRefusal(refused, 409);
    expect(refused.json.error).toContain('legal hold');
    expect((await call('GET', `/sessions/${SESSION}`)).status).toBe(200);
    for (const key of transcriptKeys()) expect(await target.readKey(key), key).toBeDefined();

    const released = await call('DELETE', `/sessions/${SESSION}/hold`);
    expect(released.status).toBe(200);
    expect(released.json.data).toEqual({
      session_id: SESSION,
      held: false,
      released: { reason: 'Dispute #42', placed_at: held.json.data.placed_at },
    });

    const erased = await call('DELETE', `/sessions/${SESSION}`);
    expect(erased.status).toBe(200);
    expect(erased.json).toEqual({
      success: true,
      message: 'Session erased',
      data: {
        session_id: SESSION,
        rows: { execution_results: 1, code_history: 1, audio_chunks: 1, session_holds: 0, session_erasures: 1, sessions: 1 },
        search_index_entries: 1,
        objects: { audio: 1, transcripts: 1, transcript_details: 1, audio_track_headers: 0, transcribe_output: 0 },
        keys_deleted: 3,
      },
    });

    expectRefusal(await call('GET', `/sessions/${SESSION}`), 404);
    expect((await call('GET', `/transcripts/${SESSION}`)).json.data?.transcripts ?? []).toEqual([]);
    for (const key of transcriptKeys()) expect(await target.readKey(key), key).toBeUndefined();
    expect(await searchHits()).toBe(0);
    // Erased already: nothing left to find.
    expectRefusal(await call('DELETE', `/sessions/${SESSION}`), 404);
    expectRefusal(await call('PUT', `/sessions/${SESSION}/hold`, { json: { reason: 'late' } }), 404);
  });
});

describe('refusals', () => {
  it.each([
    ['DELETE', '/sessions/bad!id', undefined, 400],
    ['DELETE', '/sessions/no-such-session', undefined, 404],
    ['PUT', '/sessions/bad!id/hold', { reason: 'x' }, 400],
    ['PUT', '/sessions/no-such-session/hold', { reason: 'x' }, 404],
    ['PUT', `/sessions/${SESSION}-x/hold`, {}, 400],
    ['PUT', `/sessions/${SESSION}-x/hold`, { reason: '   ' }, 400],
    ['PUT', `/sessions/${SESSION}-x/hold`, { reason: 'x', extra: 1 }, 400],
    ['DELETE', '/sessions/no-such-session/hold', undefined, 404],
  ] as const)('%s %s %j answers %i', async (method, path, json, status) => {
    expectRefusal(await call(method, path, json === undefined ? {} : { json }), status);
  });
});
