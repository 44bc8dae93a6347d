/**
 * "A failed and a pending chunk show as gaps", over real HTTP on both targets, with no dependence on
 * timing. The target's recognizer is busy for the whole test (locally pocketsphinx is not on PATH; on the
 * twin Transcribe's stream quota is 0, so every stream meets LimitExceededException): each chunk's
 * automatic run fails in a way a retry may cure and leaves it pending with the reason. One chunk's audio
 * is then removed from the store and POST /process_chunk fails it for good ("Audio not found"), as it
 * would on AWS. The test waits for those outcomes, never for a clock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realWav } from '../support/audio-fixtures';
import { expectRefusal } from '../support/http';
import { startTarget, TARGET_START_TIMEOUT_MS, type Target } from '../support/target';

let target: Target;
const call: Target['request'] = (method, path, init) => target.request(method, path, init);
const SESSION = 'session-gaps';

interface Timeline {
  duration: number;
  segments: unknown[];
  chunks: { chunk_id: string; offset: number; duration: number; transcript_status: string }[];
  gaps: { chunk_id: string | null; sequence: number | null; offset: number; status: string; reason: string }[];
}

const timelineOf = async (): Promise<Timeline> => {
  const response = await call('GET', `/sessions/${SESSION}/transcript`);
  expect(response.status).toBe(200);
  return response.json.data as Timeline;
};

/** The reason a chunk shows once its automatic run has failed and left it for a retry. */
const RETRIABLE = /^Not transcribed yet: its last attempt failed \(Speech recognizer (unavailable|busy): /;

let pending: { chunk_id: string; duration: number };
let failed: { chunk_id: string; duration: number };

beforeAll(async () => {
  target = await startTarget({ recognizer: 'busy' });
  expect((await call('POST', '/sessions', { json: { session_id: SESSION } })).status).toBe(201);
  const upload = async (clip: string) => {
    const response = await call('POST', `/sessions/${SESSION}/audio_chunks`, {
      body: realWav(clip),
      headers: { 'content-type': 'audio/wav' },
    });
    expect(response.status).toBe(201);
    return response.json.data as { chunk_id: string; duration: number };
  };
  pending = await upload('cards/001.wav');
  failed = await upload('cards/004.wav');
  // Until each chunk's automatic run has failed and said why; then until no retry of it is in flight.
  const deadline = Date.now() + 120_000;
  while (!(await timelineOf()).gaps.every((gap) => RETRIABLE.test(gap.reason)) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  await target.settled();
  // The audio is gone: the on-demand run cannot read it and fails the chunk for good.
  await target.removeKey(`audio/${SESSION}/${failed.chunk_id}.wav`);
  const processed = await call('POST', `/process_chunk/${failed.chunk_id}?session_id=${SESSION}`);
  expectRefusal(processed, 404);
  expect(processed.json.message).toBe('Audio not found');
}, TARGET_START_TIMEOUT_MS + 150_000);

afterAll(async () => {
  await target?.stop();
});

describe('a failed and a pending chunk', () => {
  it('show as gaps in json, each with its status and reason, on the timeline where its audio belongs', async () => {
    const timeline = await timelineOf();
    // Offsets are kept to the millisecond.
    const second = Math.round(pending.duration * 1000) / 1000;
    expect(timeline.segments).toEqual([]);
    expect(timeline.chunks.map((chunk) => [chunk.chunk_id, chunk.transcript_status, chunk.offset])).toEqual([
      [pending.chunk_id, 'pending', 0],
      [failed.chunk_id, 'failed', second],
    ]);
    expect(timeline.duration).toBeCloseTo(pending.duration + failed.duration, 3);
    expect(timeline.gaps).toEqual([
      { chunk_id: pending.chunk_id, sequence: null, offset: 0, status: 'pending', reason: expect.stringMatching(RETRIABLE) },
      {
        chunk_id: failed.chunk_id,
        sequence: null,
        offset: second,
        status: 'failed',
        reason: expect.stringContaining('no longer stored'),
      },
    ]);
    expect(timeline.gaps[1]!.reason).toContain(`retry with POST /process_chunk/${failed.chunk_id}`);
  });

  it('are marked in txt, in order', async () => {
    const response = await call('GET', `/sessions/${SESSION}/transcript?format=txt`);
    expect(response.status).toBe(200);
    expect(response.text).toBe(`[chunk ${pending.chunk_id}: pending]\n[chunk ${failed.chunk_id}: failed]\n`);
  });

  it('leave captions empty rather than invented, and GET /transcript says why each is missing', async () => {
    const vtt = await call('GET', `/sessions/${SESSION}/transcript?format=vtt`);
    expect(vtt.text).toBe('WEBVTT\n\n');
    const waiting = await call('GET', `/transcript/${SESSION}/${pending.chunk_id}`);
    expectRefusal(waiting, 404);
    expect(waiting.json.error).toContain('pending');
    const broken = await call('GET', `/transcript/${SESSION}/${failed.chunk_id}`);
    expectRefusal(broken, 404);
    expect(broken.json.error).toContain('failed');
  });
});
