/**
 * A failed Amazon Transcribe batch job, through what `cdk deploy` ships: an MP4 chunk (which only batch
 * reads on AWS) is handed to a job by the inserted-chunk function; the twin's Transcribe batch fails it
 * (failJobs); its "Transcribe Job State Change" event reaches complete-batch-transcription through the
 * synthesized EventBridge rule, and the chunk ends failed with Transcribe's reason, its audio kept. Once
 * jobs run again, POST /process_chunk (the README's retry) starts a new job, whose end completes the chunk.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodedSpeech } from '../support/audio-fixtures';
import type { ApiResponse } from '../support/http';
import { startTwinTarget, type TwinTarget } from '../support/twin-target';

const SESSION = 'batch-failure';
const REASON = 'The media format provided does not match the detected media format.';

let target: TwinTarget;

/** GET /transcript until it answers 200, or the chunk's status is no longer one that can still become done. */
const transcriptWhenSettled = async (chunkId: string, waitFor: RegExp): Promise<ApiResponse> => {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const response = await target.request('GET', `/transcript/${SESSION}/${chunkId}`);
    if (response.status === 200 || waitFor.test(String(response.json?.error)) || Date.now() > deadline) return response;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
};

beforeAll(async () => {
  target = await startTwinTarget();
  expect((await target.request('POST', '/sessions', { json: { session_id: SESSION } })).status).toBe(201);
}, 300_000);

afterAll(async () => {
  await target?.stop();
});

describe('a batch job that fails', () => {
  it('fails the chunk with the reason and keeps its audio; POST /process_chunk retries it to done', { timeout: 400_000 }, async () => {
    target.twin.transcribeBatch.failJobs(REASON);
    const mp4 = encodedSpeech('mp4');
    const uploaded = await target.request('POST', `/sessions/${SESSION}/audio_chunks`, {
      body: mp4,
      headers: { 'content-type': 'audio/mp4' },
    });
    expect(uploaded.status).toBe(201);
    const chunkId = uploaded.json.data.chunk_id as string;

    const failed = await transcriptWhenSettled(chunkId, /failed/);
    expect(failed.status).toBe(404);
    expect(failed.json.error).toContain('failed');
    // The job's end arrived as the EventBridge rule delivers it, and the function recorded Transcribe's reason.
    expect(target.logs).toContainEqual(expect.objectContaining({ message: 'Handed an audio chunk to batch transcription' }));
    const timeline = await target.request('GET', `/sessions/${SESSION}/transcript`);
    const gap = (timeline.json.data.gaps as { chunk_id: string; status: string; reason: string }[]).find((g) => g.chunk_id === chunkId);
    expect(gap).toMatchObject({ status: 'failed', reason: expect.stringContaining(REASON) });
    expect(gap!.reason).toContain(`POST /process_chunk/${chunkId}`);
    expect(await target.readKey(`audio/${SESSION}/${chunkId}.mp4`)).toEqual(mp4);

    target.twin.transcribeBatch.failJobs(undefined);
    const retried = await target.request('POST', `/process_chunk/${chunkId}?session_id=${SESSION}`);
    expect(retried.status).toBe(202);
    expect(retried.json.data).toMatchObject({ chunk_id: chunkId, session_id: SESSION, transcript_status: 'processing' });

    const done = await transcriptWhenSettled(chunkId, /failed/);
    expect(done.status).toBe(200);
    expect(done.json.data.words.length).toBeGreaterThanOrEqual(2);
    expect(done.json.data.filename).toBe(`${SESSION}_${chunkId}.txt`);
  });
});
