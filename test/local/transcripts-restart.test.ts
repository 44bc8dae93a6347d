/**
 * Issue #15, defect 7: work in flight survives a crash. The real local stack process (npm start's build)
 * takes five chunks of real speech and is killed with SIGKILL while their transcriptions are pending or
 * processing; started again on the same DATA_DIR, it finishes every one of them with no further call.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { realWav } from '../support/audio-fixtures';
import { type ApiResponse, request } from '../support/http';
import { newDataDir, removeDataDir, type StackProcess, startStackProcess } from '../support/local-stack-process';

const SESSION = 'crash-interview';
const CLIPS = ['0870', '0880', '0890', '0920', '0930'].map((id) => realWav(`librivox/sense_and_sensibility_01_austen_64kb-${id}.wav`));

let dataDir: string;
let stack: StackProcess | undefined;

afterAll(async () => {
  await stack?.stop();
  if (dataDir) await removeDataDir(dataDir);
});

const transcriptPath = (chunkId: string) => join(dataDir, `transcripts/${SESSION}/${SESSION}_${chunkId}.txt`);

/** Polls GET /transcript until it answers 200 or the patience runs out; the last answer either way. */
const awaitTranscript = async (url: string, chunkId: string, patienceMs: number): Promise<ApiResponse> => {
  const deadline = Date.now() + patienceMs;
  for (;;) {
    const response = await request(url, 'GET', `/transcript/${SESSION}/${chunkId}`);
    if (response.status === 200 || Date.now() > deadline) return response;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
};

describe('the local stack killed with chunks in flight', () => {
  it('resumes every unfinished chunk when started again on the same data directory', async () => {
    dataDir = await newDataDir('crash');
    stack = await startStackProcess({ dataDir });
    expect((await request(stack.url, 'POST', '/sessions', { json: { session_id: SESSION } })).status).toBe(201);

    const uploads = await Promise.all(
      CLIPS.map((clip) =>
        request(stack!.url, 'POST', `/sessions/${SESSION}/audio_chunks`, { body: clip, headers: { 'content-type': 'audio/wav' } }),
      ),
    );
    expect(uploads.map((upload) => upload.status)).toEqual([201, 201, 201, 201, 201]);
    const chunkIds: string[] = uploads.map((upload) => upload.json.data.chunk_id);

    expect(await stack.stop('SIGKILL')).toBeNull();
    // The crash caught work in flight: without it this test would prove nothing.
    const unfinished = chunkIds.filter((chunkId) => !existsSync(transcriptPath(chunkId)));
    expect(unfinished.length).toBeGreaterThan(0);

    stack = await startStackProcess({ dataDir });
    for (const chunkId of chunkIds) {
      const found = await awaitTranscript(stack.url, chunkId, 120_000);
      expect(found.status, `chunk ${chunkId}: ${found.text}`).toBe(200);
      expect(found.json.data.file_size).toBeGreaterThan(10);
    }
    const listed = await request(stack.url, 'GET', `/transcripts/${SESSION}`);
    expect(listed.json.data.total_count).toBe(5);
  }, 300_000);
});
