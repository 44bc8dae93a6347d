/**
 * Defects that only what `cdk deploy` ships shows: each runs the synthesized stack on the twin, with the
 * functions' own IAM roles, the Data API's limits and Transcribe's stream quota and pace.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POCKETSPHINX_TEST_DATA, realWav } from '../support/audio-fixtures';
import { startTwinTarget, type TwinTarget } from '../support/twin-target';

const refusals = (target: TwinTarget) => target.logs.filter((line) => line.twin === 'refused');

const upload = async (target: TwinTarget, sessionId: string, wav: Buffer) => {
  const response = await target.request('POST', `/sessions/${sessionId}/audio_chunks`, {
    body: wav,
    headers: { 'content-type': 'audio/wav' },
  });
  expect(response.status, response.text).toBe(201);
  return String(response.json.data.chunk_id);
};

const transcriptOf = (target: TwinTarget, sessionId: string, chunkId: string) =>
  target.request('GET', `/transcript/${sessionId}/${chunkId}`);

describe('on the twin, with the shipped roles and limits', () => {
  let target: TwinTarget;
  beforeAll(async () => {
    // Two concurrent streams, so a handful of uploads is a burst over the quota; retries come after seconds, not minutes.
    target = await startTwinTarget({}, { transcribeStreams: 2, retryDelaySeconds: 8 });
    const created = await target.request('POST', '/sessions', { json: { session_id: 'twin-defects', candidate: 'Ada' } });
    expect(created.status).toBe(201);
  }, 300_000);
  afterAll(() => target?.stop());

  it('transcribes an inserted chunk: the transcribing function may write every key transcription writes', async () => {
    const chunkId = await upload(target, 'twin-defects', realWav('cards/001.wav'));
    await expect
      .poll(async () => (await transcriptOf(target, 'twin-defects', chunkId)).status, { timeout: 60_000, interval: 1000 })
      .toBe(200);
    expect(await target.readKey(`transcript-details/twin-defects/twin-defects_${chunkId}.json`)).toBeDefined();
    expect(refusals(target)).toEqual([]);
  });

  it('snapshots an execution result whose row is larger than the Data API returns in one record', async () => {
    // Test output dense with colour codes: each ESC is six characters of JSON, so the row's JSON is about 80 KB.
    const line = '\u001b[31m✗\u001b[39m\u001b[2m expected\u001b[22m\n';
    const fill = (bytes: number) => line.repeat(Math.floor(bytes / Buffer.byteLength(line)));
    const stdout = fill(24 * 1024);
    const stderr = fill(24 * 1024).replaceAll('32m', '31m');
    const recorded = await target.request('POST', '/sessions/twin-defects/execution_results', { json: { stdout, stderr, exit_code: 1 } });
    expect(recorded.status, recorded.text).toBe(201);

    const snapshot = await target.request('POST', '/sandbox_snapshot/trigger');
    expect(snapshot.status, snapshot.text).toBeLessThan(300);
    const rows = snapshot.json.data.data.execution_results as { id: string; stdout: string; stderr: string }[];
    const row = rows.find((candidate) => String(candidate.id) === String(recorded.json.data.id));
    expect(row?.stdout).toBe(stdout);
    expect(row?.stderr).toBe(stderr);
  });

  it('finishes every chunk of a burst over the stream quota, through retries', async () => {
    const clips = ['cards/002.wav', 'cards/003.wav', 'cards/004.wav', 'cards/005.wav', 'cards/001.wav'];
    const chunkIds = await Promise.all(clips.map((clip) => upload(target, 'twin-defects', realWav(clip))));
    for (const chunkId of chunkIds) {
      await expect
        .poll(async () => (await transcriptOf(target, 'twin-defects', chunkId)).status, { timeout: 120_000, interval: 1000 })
        .toBe(200);
    }
    const failed = (await Promise.all(chunkIds.map((chunkId) => target.request('GET', `/transcript/twin-defects/${chunkId}`)))).filter(
      (response) => response.status !== 200,
    );
    expect(failed).toEqual([]);
    const { template, events } = target.twin;
    expect(template.ofType('AWS::SQS::Queue').flatMap((queue) => events.queues.list(template.arn(queue)))).toEqual([]);
  }, 240_000);

  it('finishes a chunk whose transcription crashed mid-run: the retry takes over its own lease', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'twin-crash-'));
    const speech = join(folder, 'speech.wav');
    execFileSync(
      'sox',
      ['0870', '0890', '0920']
        .map((id) => join(POCKETSPHINX_TEST_DATA, 'librivox', `sense_and_sensibility_01_austen_64kb-${id}.wav`))
        .concat(speech),
    );
    const chunkId = await upload(target, 'twin-defects', readFileSync(speech));
    rmSync(folder, { recursive: true, force: true });
    await expect
      .poll(async () => (await transcriptOf(target, 'twin-defects', chunkId)).text, { timeout: 30_000, interval: 200 })
      .toMatch(/is processing/);

    const transcriber = Object.values(target.twin.template.functions()).find((fn) =>
      fn.logicalId.startsWith('TranscribeAudioChunkFunction'),
    )!;
    target.twin.functions.get(transcriber.logicalId)!.crashEnvironments();

    await expect
      .poll(async () => (await transcriptOf(target, 'twin-defects', chunkId)).status, { timeout: 120_000, interval: 1000 })
      .toBe(200);
  }, 200_000);

  it('answers 503 in the envelope while the database resumes from 0 ACU, and serves once it has', async () => {
    target.twin.dataApi.setResuming(true);
    try {
      const resuming = await target.request('GET', '/sessions/twin-defects');
      expect(resuming.status, resuming.text).toBe(503);
      expect(resuming.json).toMatchObject({ success: false });
    } finally {
      target.twin.dataApi.setResuming(false);
    }
    expect((await target.request('GET', '/sessions/twin-defects')).status).toBe(200);
  });

  it('refuses to transcribe on request audio longer than the route can stream in its time, and transcribes it automatically', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'twin-long-'));
    const clips = readFileSync(join(POCKETSPHINX_TEST_DATA, 'librivox', 'fileids'), 'utf8')
      .trim()
      .split('\n')
      .map((id) => join(POCKETSPHINX_TEST_DATA, 'librivox', `${id.trim()}.wav`));
    const long = join(folder, 'long.wav');
    execFileSync('sox', [...clips, ...clips, ...clips, long]);
    const chunkId = await upload(target, 'twin-defects', readFileSync(long));
    rmSync(folder, { recursive: true, force: true });

    const onRequest = await target.request('POST', `/process_chunk/${chunkId}?session_id=twin-defects`);
    expect(onRequest.status, onRequest.text).toBeGreaterThanOrEqual(400);
    expect(onRequest.status, onRequest.text).toBeLessThan(500);
    expect(onRequest.json).toMatchObject({ success: false });

    await expect
      .poll(async () => (await transcriptOf(target, 'twin-defects', chunkId)).status, { timeout: 200_000, interval: 2000 })
      .toBe(200);
  }, 300_000);
});
