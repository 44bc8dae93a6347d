/**
 * Browser formats, the chunk's track and safe retries over real HTTP, on both targets: `npm start`
 * (pocketsphinx decodes through ffmpeg) and the twin (Transcribe's stand-in; WebM goes to it remuxed
 * as Ogg Opus, MP4 is refused until batch transcription takes it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { walkElements } from '../../functions/core/audio/webm';
import { encodedSpeech, POCKETSPHINX_TEST_DATA, realWav } from '../support/audio-fixtures';
import { type ApiResponse, expectRefusal } from '../support/http';
import { startTarget, TARGET_START_TIMEOUT_MS, type Target, targetKind } from '../support/target';

let target: Target;
const call: Target['request'] = (method, path, init) => target.request(method, path, init);

const SPEECH = `${POCKETSPHINX_TEST_DATA}/librivox/sense_and_sensibility_01_austen_64kb-0880.wav`;
/** "he was not an ill disposed young man": both engines find some of these. */
const SPOKEN = new Set(['he', 'was', 'not', 'an', 'ill', 'disposed', 'young', 'man']);

const upload = (sessionId: string, bytes: Uint8Array, contentType: string, query = '') =>
  call('POST', `/sessions/${sessionId}/audio_chunks${query}`, { body: bytes, headers: { 'content-type': contentType } });

/** Generous: on the twin, under a loaded machine, a transcript once took over 90 s to appear. */
const awaitTranscript = async (sessionId: string, chunkId: string): Promise<ApiResponse> => {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const response = await call('GET', `/transcript/${sessionId}/${chunkId}`);
    if (response.status === 200 || Date.now() > deadline) return response;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
};

const spokenWordsIn = (text: string) => (text.toLowerCase().match(/[a-z]+/g) ?? []).filter((word) => SPOKEN.has(word));

beforeAll(async () => {
  target = await startTarget();
  for (const session_id of ['track-e2e', 'formats-e2e'])
    expect((await call('POST', '/sessions', { json: { session_id } })).status).toBe(201);
}, TARGET_START_TIMEOUT_MS);

afterAll(async () => {
  await target?.stop();
});

describe('the chunk track on the raw-body upload', () => {
  let chunkId: string;

  it('stores sequence, speaker and started_at and returns them', async () => {
    const response = await upload(
      'track-e2e',
      realWav('cards/001.wav'),
      'audio/wav',
      '?sequence=0&speaker=candidate&started_at=2026-03-04T05:06:07Z',
    );
    expect(response.status).toBe(201);
    expect(response.json.data).toMatchObject({ sequence: 0, speaker: 'candidate', started_at: '2026-03-04T05:06:07.000Z' });
    chunkId = response.json.data.chunk_id;
  });

  it('answers a retry with the same bytes 200 and the same chunk, other bytes 409', async () => {
    const again = await upload('track-e2e', realWav('cards/001.wav'), 'audio/wav', '?sequence=0&speaker=candidate');
    expect(again.status).toBe(200);
    expect(again.json.data.chunk_id).toBe(chunkId);
    expectRefusal(await upload('track-e2e', realWav('cards/002.wav'), 'audio/wav', '?sequence=0'), 409);
  });

  it('keeps one chunk when copies of an upload arrive at once', async () => {
    const answers = await Promise.all(
      Array.from({ length: 4 }, () => upload('track-e2e', realWav('cards/003.wav'), 'audio/wav', '?sequence=5')),
    );
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 200, 200, 201]);
    expect(new Set(answers.map((answer) => answer.json.data.chunk_id)).size).toBe(1);
  });

  it('returns speaker and started_at from the transcript routes', { timeout: 240_000 }, async () => {
    const transcript = await awaitTranscript('track-e2e', chunkId);
    expect(transcript.status, transcript.text).toBe(200);
    expect(transcript.json.data).toMatchObject({ speaker: 'candidate', started_at: '2026-03-04T05:06:07.000Z' });
    const listed = await call('GET', '/transcripts/track-e2e');
    expect(listed.status).toBe(200);
    const entry = listed.json.data.transcripts.find((file: { filename: string }) => file.filename === `track-e2e_${chunkId}.txt`);
    expect(entry).toMatchObject({ sequence: 0, speaker: 'candidate', started_at: '2026-03-04T05:06:07.000Z' });
  });

  it.each([
    ['a negative sequence', '?sequence=-1'],
    ['a fractional sequence', '?sequence=1.5'],
    ['a speaker with a space', '?speaker=the%20candidate'],
    ['a started_at without a zone', '?started_at=2026-03-04T05:06:07'],
    ['an unknown parameter', '?sequnce=1'],
  ])('refuses %s with a 400', async (_label, query) => {
    expectRefusal(await upload('track-e2e', realWav('cards/004.wav'), 'audio/wav', query), 400);
  });
});

describe('browser formats', () => {
  it('transcribes WebM Opus', { timeout: 240_000 }, async () => {
    const response = await upload('formats-e2e', encodedSpeech('webm', SPEECH), 'audio/webm;codecs=opus');
    expect(response.status).toBe(201);
    expect(response.json.data).toMatchObject({ content_type: 'audio/webm' });
    const transcript = await awaitTranscript('formats-e2e', response.json.data.chunk_id);
    expect(transcript.status, transcript.text).toBe(200);
    expect(spokenWordsIn(transcript.json.data.transcript).length).toBeGreaterThanOrEqual(3);
  });

  it('transcribes the blobs of a timeslice recording behind the first blob header', { timeout: 400_000 }, async () => {
    // Cut one byte into a SimpleBlock, as Chromium cuts its timeslice blobs.
    const webm = encodedSpeech('webm', SPEECH);
    const blocks = walkElements(webm).filter((element) => element.id === 0xa3);
    const cut = blocks[Math.floor(blocks.length / 2)]!.start + 1;
    const first = await upload('formats-e2e', webm.subarray(0, cut), 'audio/webm', '?sequence=0&speaker=interviewer');
    const second = await upload('formats-e2e', webm.subarray(cut), 'audio/webm', '?sequence=1&speaker=interviewer');
    expect([first.status, second.status]).toEqual([201, 201]);
    const texts = [];
    for (const chunk of [first, second]) {
      const transcript = await awaitTranscript('formats-e2e', chunk.json.data.chunk_id);
      expect(transcript.status, transcript.text).toBe(200);
      texts.push(transcript.json.data.transcript);
    }
    expect(spokenWordsIn(texts.join(' ')).length).toBeGreaterThanOrEqual(3);
  });

  it('refuses a continuation blob of a track that sent no header with a 400, storing nothing', async () => {
    const webm = encodedSpeech('webm', SPEECH);
    const blocks = walkElements(webm).filter((element) => element.id === 0xa3);
    const response = await upload('formats-e2e', webm.subarray(blocks[3]!.start + 1), 'audio/webm', '?speaker=nobody');
    expectRefusal(response, 400);
    expect(response.json.error).toContain('first blob');
  });

  it('refuses truncated WebM and MP4 with a 400 that says so', async () => {
    const webm = encodedSpeech('webm', SPEECH);
    expect((await upload('formats-e2e', webm.subarray(0, webm.length - 3), 'audio/webm')).json.error).toMatch(/truncated|cut off/);
    const mp4 = encodedSpeech('mp4', SPEECH);
    const refused = await upload('formats-e2e', mp4.subarray(0, mp4.length - 3), 'audio/mp4');
    expectRefusal(refused, 400);
  });

  it('transcribes Ogg Opus', { timeout: 240_000 }, async () => {
    const response = await upload('formats-e2e', encodedSpeech('ogg', SPEECH), 'audio/ogg;codecs=opus');
    expect(response.status).toBe(201);
    const transcript = await awaitTranscript('formats-e2e', response.json.data.chunk_id);
    expect(spokenWordsIn(transcript.json.data.transcript).length).toBeGreaterThanOrEqual(3);
  });

  it('transcribes MP4 AAC: with pocketsphinx locally, by a Transcribe batch job on AWS', { timeout: 360_000 }, async () => {
    const response = await upload('formats-e2e', encodedSpeech('mp4', SPEECH), 'audio/mp4');
    expect(response.status).toBe(201);
    const transcript = await awaitTranscript('formats-e2e', response.json.data.chunk_id);
    expect(spokenWordsIn(transcript.json.data.transcript).length).toBeGreaterThanOrEqual(3);
  });
});
