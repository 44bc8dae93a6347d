/**
 * A chunk longer than the inserted-chunk function can stream (720 s on Lambda, the template's timeout),
 * end to end on the twin: a direct upload to the twin's S3, the S3 event, the function handing the chunk
 * to Amazon Transcribe batch (the stand-in, reading the audio as the function's role), the job's end on
 * EventBridge, and complete-batch-transcription writing the transcript. Streamed, the run would fail the
 * chunk as too long for its deadline.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import wavefile from 'wavefile';
import { realWav } from '../support/audio-fixtures';
import { startTarget, TARGET_START_TIMEOUT_MS, type Target } from '../support/target';

let target: Target;
const SESSION = 'long-chunk';

/** Real speech, then digital silence up to `seconds`. */
const speechThenSilence = (seconds: number): Buffer => {
  const spoken = new wavefile.WaveFile(realWav('cards/001.wav')).getSamples(false, Int16Array) as unknown as Int16Array;
  const samples = new Int16Array(16000 * seconds);
  samples.set(spoken);
  const wave = new wavefile.WaveFile();
  wave.fromScratch(1, 16000, '16', samples);
  return Buffer.from(wave.toBuffer());
};

beforeAll(async () => {
  target = await startTarget();
  expect((await target.request('POST', '/sessions', { json: { session_id: SESSION } })).status).toBe(201);
}, TARGET_START_TIMEOUT_MS);

afterAll(async () => {
  await target?.stop();
});

describe('a chunk longer than the streaming cap', () => {
  it('is transcribed by a batch job and completed by its end event', { timeout: 900_000 }, async () => {
    const bytes = speechThenSilence(730);
    const asked = await target.request('POST', `/sessions/${SESSION}/audio_chunks/uploads`, {
      json: { content_type: 'audio/wav', size_bytes: bytes.length },
    });
    expect(asked.status).toBe(201);
    const ticket = asked.json.data as { chunk_id: string; upload_url: string; headers: Record<string, string> };
    expect((await fetch(ticket.upload_url, { method: 'PUT', headers: ticket.headers, body: bytes })).status).toBe(200);

    const deadline = Date.now() + 840_000;
    let found = await target.request('GET', `/transcript/${SESSION}/${ticket.chunk_id}`);
    while (found.status !== 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 2000));
      found = await target.request('GET', `/transcript/${SESSION}/${ticket.chunk_id}`);
    }
    expect(found.status).toBe(200);
    expect(found.json.data).toMatchObject({ duration: 730, language: 'en-US', transcript: 'Ten of clubs.' });
    expect(found.json.data.words.map((word: { word: string }) => word.word)).toEqual(['Ten', 'of', 'clubs']);
    // The run handed the chunk over rather than streaming it.
    expect(target.logs).toContainEqual(expect.objectContaining({ message: 'Handed an audio chunk to batch transcription' }));
  });
});
