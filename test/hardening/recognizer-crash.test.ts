/**
 * The recognizer process is killed mid-decode: the in-process local stack (PostgreSQL for speed, the
 * warm pocketsphinx_batch recognizer) transcribing six seconds of real speech, with the process killed
 * (SIGKILL) once it has opened the chunk's audio. A kill costs one retry on a fresh process; two kills
 * fail the request in the envelope instead of hanging it, and the chunk stays retriable.
 */

import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import wavefile from 'wavefile';
import type { PocketsphinxTranscriber } from '../../functions/adapters/transcriber/pocketsphinx';
import { type LocalStack, startLocalStack } from '../../functions/local/stack';
import { readSettings } from '../../functions/settings';
import { POCKETSPHINX_TEST_DATA } from '../support/audio-fixtures';
import { request } from '../support/http';
import { type PostgresServer, startPostgresServer } from '../support/postgres-server';
import { sendRaw } from './support/raw-http';
import { expectSafeAnswer } from './support/safe-answer';

const SESSION = 'recognizer-crash';

/** Two LibriVox readings of pocketsphinx-testdata back to back: six seconds of speech, a decode long enough to catch. */
const longSpeech = (): Buffer => {
  const clips = ['0880', '0930'].map((id) => {
    const wave = new wavefile.WaveFile(
      readFileSync(join(POCKETSPHINX_TEST_DATA, `librivox/sense_and_sensibility_01_austen_64kb-${id}.wav`)),
    );
    return Buffer.from((wave.data as { samples: Uint8Array }).samples);
  });
  const pcm = Buffer.concat(clips);
  const wave = new wavefile.WaveFile();
  wave.fromScratch(1, 16000, '16', new Int16Array(pcm.buffer, pcm.byteOffset, pcm.length / 2));
  return Buffer.from(wave.toBuffer());
};

let postgres: PostgresServer;
let stack: LocalStack;
let dataDir: string;
let recognizer: PocketsphinxTranscriber;
let chunkId: string;

/** The recognizer's pid once it has an utterance's audio file open: it is decoding. */
const decodingProcess = async (notPid?: number): Promise<number> => {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const pid = recognizer.processId;
    if (pid !== undefined && pid !== notPid) {
      const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
      const targets = await Promise.all(fds.map((fd) => readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')));
      if (targets.some((target) => /\/u[0-9]+\.raw$/.test(target))) return pid;
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error('the recognizer never started decoding');
};

const chunkRow = async (chunkId: string) => {
  const [row] = await stack.dependencies.sql.query<{ transcript_status: string; transcript_error: string | null }>(
    'SELECT transcript_status, transcript_error FROM audio_chunks WHERE chunk_id = CAST(:chunk_id AS bigint)',
    { chunk_id: chunkId },
  );
  return row!;
};

const uploadSpeech = async (): Promise<string> => {
  const response = await request(stack.url, 'POST', `/sessions/${SESSION}/audio_chunks`, {
    body: longSpeech(),
    headers: { 'content-type': 'audio/wav' },
  });
  expect(response.status).toBe(201);
  return response.json.data.chunk_id;
};

beforeAll(async () => {
  postgres = await startPostgresServer();
  dataDir = await mkdtemp(join(tmpdir(), 'interview-ops-recognizer-crash-'));
  stack = await startLocalStack(
    readSettings({ PORT: '0', DATA_DIR: dataDir, DATABASE_URL: postgres.url, LOG_LEVEL: 'SILENT', SNAPSHOT_INTERVAL_SECONDS: '3600' }),
  );
  recognizer = stack.dependencies.transcriber as PocketsphinxTranscriber;
  expect(recognizer.engine).toBe('pocketsphinx');
  expect((await request(stack.url, 'POST', '/sessions', { json: { session_id: SESSION } })).status).toBe(201);
});

afterAll(async () => {
  await stack?.close();
  await postgres?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('the recognizer killed mid-decode', () => {
  it('restarts, and the automatic transcription of the chunk it was decoding still completes', async () => {
    chunkId = await uploadSpeech();
    const killed = await decodingProcess();
    process.kill(killed, 'SIGKILL');
    await stack.settle();

    expect(await chunkRow(chunkId)).toEqual({ transcript_status: 'done', transcript_error: null });
    const transcript = await readFile(join(dataDir, `transcripts/${SESSION}/${SESSION}_${chunkId}.txt`), 'utf8');
    expect(transcript.split(' ').length).toBeGreaterThan(8);
    expect(recognizer.processId).toBeDefined();
    expect(recognizer.processId).not.toBe(killed);
  });

  it('killed again on the retry: the request fails in the envelope rather than hanging, and the chunk can be retried', async () => {
    const pending = sendRaw(stack.url, { method: 'POST', target: `/process_chunk/${chunkId}`, headers: {} }, 120_000);
    const first = await decodingProcess();
    process.kill(first, 'SIGKILL');
    const second = await decodingProcess(first);
    process.kill(second, 'SIGKILL');

    const failed = await pending;
    expectSafeAnswer(failed, { method: 'POST', target: `/process_chunk/${chunkId}`, alsoAllowed: [503] });
    expect(failed.status).toBe(503);
    // A dead recognizer is a failure a retry may cure: the chunk is left pending, not failed (issue #15).
    const row = await chunkRow(chunkId);
    expect(row.transcript_status).toBe('pending');
    expect(row.transcript_error).toMatch(/recognizer/i);

    const retried = await request(stack.url, 'POST', `/process_chunk/${chunkId}`);
    expect(retried.status).toBe(200);
    expect(retried.json.data.transcript.split(' ').length).toBeGreaterThan(8);
    expect(await chunkRow(chunkId)).toEqual({ transcript_status: 'done', transcript_error: null });
  });
});
