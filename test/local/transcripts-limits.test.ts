/**
 * Issue #15, defect 4, over real HTTP against `npm start`: audio longer than a run can stream at real time
 * is refused in the envelope. Uploads past MAX_AUDIO_SECONDS get a 413; POST /process_chunk refuses a chunk
 * past MAX_ON_DEMAND_AUDIO_SECONDS with a 413 that points to the automatic transcript, which still comes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realWav } from '../support/audio-fixtures';
import { expectRefusal, request } from '../support/http';
import { removeDataDir, type StackProcess, startStackProcess } from '../support/local-stack-process';

const SESSION = 'limits';
let stack: StackProcess;
const call = (method: string, path: string, init?: Parameters<typeof request>[3]) => request(stack.url, method, path, init);
const upload = (bytes: Uint8Array) =>
  call('POST', `/sessions/${SESSION}/audio_chunks`, { body: bytes, headers: { 'content-type': 'audio/wav' } });

beforeAll(async () => {
  stack = await startStackProcess({ env: { MAX_AUDIO_SECONDS: '5', MAX_ON_DEMAND_AUDIO_SECONDS: '2' } });
  expect((await call('POST', '/sessions', { json: { session_id: SESSION } })).status).toBe(201);
});

afterAll(async () => {
  await stack?.stop();
  await removeDataDir(stack.dataDir);
});

describe('audio length limits', () => {
  it('refuses an upload longer than MAX_AUDIO_SECONDS with a 413 in the envelope', async () => {
    // 7.1 s of speech.
    const response = await upload(realWav('librivox/sense_and_sensibility_01_austen_64kb-0870.wav'));
    expectRefusal(response, 413);
    expect(response.json).toMatchObject({ message: 'Audio chunk too long' });
    expect(response.json.error).toContain('limited to 5 seconds');
  });

  it('refuses POST /process_chunk past MAX_ON_DEMAND_AUDIO_SECONDS, and the automatic transcript still comes', async () => {
    // 3 s of speech: accepted, too long to transcribe on demand.
    const uploaded = await upload(realWav('librivox/sense_and_sensibility_01_austen_64kb-0880.wav'));
    expect(uploaded.status).toBe(201);
    const chunkId = uploaded.json.data.chunk_id;

    const refused = await call('POST', `/process_chunk/${chunkId}`);
    expectRefusal(refused, 413);
    expect(refused.json).toMatchObject({ message: 'Audio too long to transcribe on demand' });
    expect(refused.json.error).toContain('at most 2 s');
    expect(refused.json.error).toContain(`GET /transcript/${SESSION}/${chunkId}`);

    await expect
      .poll(async () => (await call('GET', `/transcript/${SESSION}/${chunkId}`)).status, { timeout: 60_000, interval: 250 })
      .toBe(200);
  });

  it('transcribes a chunk within the limit on demand', async () => {
    const uploaded = await upload(realWav('cards/001.wav'));
    expect(uploaded.status).toBe(201);
    const response = await call('POST', `/process_chunk/${uploaded.json.data.chunk_id}`);
    expect(response.status).toBe(200);
    expect(response.json.data.transcript).toBe('ten of clubs');
  });
});
