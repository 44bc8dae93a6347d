/**
 * A machine without pocketsphinx: the service starts, uploads succeed and keep their audio, the automatic
 * transcription fails visibly (row status, log with ids) and POST /process_chunk answers 503 with how to
 * install it. Once the recognizer is there, the same chunk is transcribed by the same call: nothing lost.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realWav } from '../support/audio-fixtures';
import { LEAK_PATTERNS, request } from '../support/http';
import { newDataDir, removeDataDir, type StackProcess, startStackProcess } from '../support/local-stack-process';

let dataDir: string;
let emptyPath: string;
let stack: StackProcess | undefined;
let chunkId: string;
/** Warnings and errors: the logger writes them to stderr. */
const errorLogs: Record<string, unknown>[] = [];

const collectErrorLogs = (process: StackProcess) => {
  let pending = '';
  process.child.stderr!.on('data', (chunk: Buffer) => {
    const lines = (pending + chunk.toString()).split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      try {
        errorLogs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not a log line
      }
    }
  });
};

beforeAll(async () => {
  dataDir = await newDataDir('no-recognizer');
  // A PATH with nothing on it: pocketsphinx_batch cannot be found, exactly as before it is installed.
  emptyPath = mkdtempSync(join(tmpdir(), 'interview-ops-empty-path-'));
  stack = await startStackProcess({ dataDir, env: { PATH: emptyPath } });
  collectErrorLogs(stack);
});

afterAll(async () => {
  await stack?.stop();
  await removeDataDir(dataDir);
  rmSync(emptyPath, { recursive: true, force: true });
});

describe('without pocketsphinx', () => {
  it('starts, stays healthy and accepts uploads', async () => {
    expect((await request(stack!.url, 'GET', '/health')).status).toBe(200);
    expect((await request(stack!.url, 'POST', '/sessions', { json: { session_id: 'no-asr' } })).status).toBe(201);
    const uploaded = await request(stack!.url, 'POST', '/sessions/no-asr/audio_chunks', {
      body: realWav('cards/001.wav'),
      headers: { 'content-type': 'audio/wav' },
    });
    expect(uploaded.status).toBe(201);
    chunkId = uploaded.json.data.chunk_id;
  });

  it('records the automatic failure on the chunk, logs it with the ids, and keeps the audio', async () => {
    const deadline = Date.now() + 60_000;
    let transcript = await request(stack!.url, 'GET', `/transcript/no-asr/${chunkId}`);
    while (!/failed/.test(transcript.json?.error ?? '') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      transcript = await request(stack!.url, 'GET', `/transcript/no-asr/${chunkId}`);
    }
    expect(transcript.status).toBe(404);
    expect(transcript.json.error).toContain('failed');
    expect(transcript.json.error).toContain('apt-get install -y pocketsphinx pocketsphinx-en-us');
    // The row is marked before the log line is written; give the line a moment to arrive.
    const logged = () =>
      [...stack!.logs, ...errorLogs].some(
        (entry) =>
          entry.level === 'ERROR' &&
          String(entry.message).startsWith('Automatic transcription failed') &&
          entry.chunk_id === chunkId &&
          entry.session_id === 'no-asr',
      );
    while (!logged() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(logged()).toBe(true);
    expect(existsSync(join(dataDir, `audio/no-asr/${chunkId}.wav`))).toBe(true);
  });

  it('answers POST /process_chunk with 503 and the install command', async () => {
    const response = await request(stack!.url, 'POST', `/process_chunk/${chunkId}`);
    expect(response.status).toBe(503);
    expect(response.json).toMatchObject({ success: false, message: 'Speech recognizer unavailable' });
    expect(response.json.error).toContain('sudo apt-get install -y pocketsphinx pocketsphinx-en-us');
    for (const leak of LEAK_PATTERNS) expect(response.text).not.toMatch(leak);
  });
});

describe('once pocketsphinx is there', () => {
  it('transcribes the same chunk through the same call', async () => {
    await stack!.stop();
    stack = await startStackProcess({ dataDir });
    const response = await request(stack.url, 'POST', `/process_chunk/${chunkId}?session_id=no-asr`);
    expect(response.status).toBe(200);
    expect(response.json.data).toMatchObject({ chunk_id: chunkId, session_id: 'no-asr', transcript: 'ten of clubs' });
    expect((await request(stack.url, 'GET', `/transcript/no-asr/${chunkId}`)).status).toBe(200);
  });
});
