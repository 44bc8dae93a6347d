/**
 * Transcription benchmark: POST /process_chunk on a 3 s clip against the running local stack (its
 * pocketsphinx_batch already warm), beside a cold `pocketsphinx_continuous -infile` on the same clip,
 * measured alternately in one run so both see the same machine load; medians of BENCH_RUNS runs.
 * Target: the API call takes at most half the cold command's time.
 *
 * `tsx bench/transcription.ts` prints the figures; `runTranscriptionBench()` returns them.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pcm16ToWav } from '../functions/core/audio/pcm';
import { request } from '../test/support/http';
import { removeDataDir, startStackProcess } from '../test/support/local-stack-process';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const CLIP_SECONDS = 3;
const SAMPLE_RATE = 16000;
const SOURCE = '/usr/share/pocketsphinx/test/data/numbers.raw';
const TARGET_RATIO = 0.5;

/** The shape every benchmark of this project reports (bench/support/report.ts). */
export interface TranscriptionFigures {
  benchmark: 'transcription';
  metric: string;
  unit: 'ms';
  ours: number;
  anchor: number;
  anchorName: string;
  ratio: number;
  target: string;
  met: boolean;
  runs: number;
  note: string;
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** The first 3 s of numbers.raw (16 kHz mono 16-bit speech) as a WAV file. */
const threeSecondClip = async (): Promise<Buffer> =>
  pcm16ToWav((await readFile(SOURCE)).subarray(0, CLIP_SECONDS * SAMPLE_RATE * 2), SAMPLE_RATE);

/** Wall time of one cold recognizer run, from spawn to exit; resolves with its printed words too. */
const coldContinuous = (path: string) =>
  new Promise<{ ms: number; text: string }>((resolveRun, reject) => {
    const started = performance.now();
    const child = spawn('pocketsphinx_continuous', ['-infile', path], { stdio: ['ignore', 'pipe', 'ignore'] });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolveRun({ ms: performance.now() - started, text: text.trim().split(/\s+/).join(' ') }) : reject(new Error(`exit ${code}`)),
    );
  });

export const runTranscriptionBench = async (progress: (message: string) => void = () => undefined): Promise<TranscriptionFigures> => {
  const work = await mkdtemp(join(tmpdir(), 'interview-ops-bench-transcription-'));
  const clipPath = join(work, 'clip.wav');
  const clip = await threeSecondClip();
  await writeFile(clipPath, clip);
  const stack = await startStackProcess();
  try {
    await request(stack.url, 'POST', '/sessions', { json: { session_id: 'bench' } });
    const uploaded = await request(stack.url, 'POST', '/sessions/bench/audio_chunks', { body: clip, headers: { 'content-type': 'audio/wav' } });
    const chunkId = String(uploaded.json.data.chunk_id);
    // Let the automatic transcription of the upload finish so it does not share the recognizer with a run.
    while ((await request(stack.url, 'GET', `/transcript/bench/${chunkId}`)).status !== 200) {
      await new Promise((resolveWait) => setTimeout(resolveWait, 100));
    }
    const processChunk = async () => {
      const started = performance.now();
      const response = await request(stack.url, 'POST', `/process_chunk/${chunkId}?session_id=bench`);
      if (response.status !== 200) throw new Error(`process_chunk answered ${response.status}: ${response.text}`);
      return { ms: performance.now() - started, text: String(response.json.data.transcript) };
    };
    await processChunk(); // warm the handler module as a warm Lambda would be
    const api: number[] = [];
    const cold: number[] = [];
    let texts = { api: '', cold: '' };
    for (let run = 0; run < RUNS; run++) {
      const ours = await processChunk();
      const theirs = await coldContinuous(clipPath);
      api.push(ours.ms);
      cold.push(theirs.ms);
      texts = { api: ours.text, cold: theirs.text };
      progress(`run ${run + 1}/${RUNS}: POST /process_chunk ${ours.ms.toFixed(0)} ms, cold pocketsphinx_continuous ${theirs.ms.toFixed(0)} ms`);
    }
    const ours = median(api);
    const anchor = median(cold);
    const ratio = ours / anchor;
    return {
      benchmark: 'transcription',
      metric: `POST /process_chunk latency, ${CLIP_SECONDS} s clip, warm recognizer`,
      unit: 'ms',
      ours,
      anchor,
      anchorName: 'cold pocketsphinx_continuous -infile, same clip',
      ratio,
      target: `ratio <= ${TARGET_RATIO}`,
      met: ratio <= TARGET_RATIO,
      runs: RUNS,
      note: `api min/max ${Math.min(...api).toFixed(0)}/${Math.max(...api).toFixed(0)} ms, cold min/max ${Math.min(...cold).toFixed(0)}/${Math.max(...cold).toFixed(0)} ms; api "${texts.api}", cold "${texts.cold}"`,
    };
  } finally {
    await stack.stop();
    await removeDataDir(stack.dataDir);
    await rm(work, { recursive: true, force: true });
  }
};

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const figures = await runTranscriptionBench((message) => console.error(message));
  console.log(JSON.stringify(figures, null, 2));
}
