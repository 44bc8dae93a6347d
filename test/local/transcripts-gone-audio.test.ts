/**
 * A chunk whose audio object was removed behind the service's back, which only the local stack
 * (`npm start`) lets a test do: its store is a data directory. The transcript routes themselves are
 * test/e2e/transcripts.test.ts.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realWav } from '../support/audio-fixtures';
import { type ApiResponse, expectRefusal, request } from '../support/http';
import { removeDataDir, type StackProcess, startStackProcess } from '../support/local-stack-process';

let stack: StackProcess;
const call = (method: string, path: string, init?: Parameters<typeof request>[3]) => request(stack.url, method, path, init);

const upload = async (sessionId: string, bytes: Uint8Array, contentType = 'audio/wav') => {
  const response = await call('POST', `/sessions/${sessionId}/audio_chunks`, { body: bytes, headers: { 'content-type': contentType } });
  expect(response.status).toBe(201);
  return response.json.data as { chunk_id: string; transcript_status: string };
};

/** Polls GET /transcript until the automatic transcript is there (the upload answers before it runs). */
const awaitTranscript = async (sessionId: string, chunkId: string): Promise<ApiResponse> => {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const response = await call('GET', `/transcript/${sessionId}/${chunkId}`);
    if (response.status === 200 || Date.now() > deadline) return response;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
};

beforeAll(async () => {
  stack = await startStackProcess();
  expect((await call('POST', '/sessions', { json: { session_id: 'gone-audio' } })).status).toBe(201);
});

afterAll(async () => {
  await stack?.stop();
  await removeDataDir(stack.dataDir);
});

describe('POST /process_chunk/{chunk_id}', () => {
  it('answers 404 with a clear message when the audio object is gone, and records the failure', async () => {
    const gone = (await upload('gone-audio', realWav('cards/001.wav'))).chunk_id;
    expect((await awaitTranscript('gone-audio', gone)).status).toBe(200);
    rmSync(join(stack.dataDir, `audio/gone-audio/${gone}.wav`));
    rmSync(join(stack.dataDir, `transcripts/gone-audio/gone-audio_${gone}.txt`));

    const response = await call('POST', `/process_chunk/${gone}`);
    expectRefusal(response, 404);
    expect(response.json.message).toBe('Audio not found');
    expect(response.json.error).toContain('no longer stored');

    const transcript = await call('GET', `/transcript/gone-audio/${gone}`);
    expectRefusal(transcript, 404);
    expect(transcript.json.error).toContain('failed');
    expect(transcript.json.error).toContain('no longer stored');
  });
});
