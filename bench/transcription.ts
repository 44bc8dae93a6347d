/**
 * Transcription benchmark, against the running local stack (its pocketsphinx_batch already warm):
 * - latency: POST /process_chunk on a 3 s clip beside a cold `pocketsphinx_continuous -infile` on the same
 *   clip, measured alternately in one run so both see the same machine load; medians of BENCH_RUNS runs.
 *   Target: the API call takes at most half the cold command's time.
 * - a burst: eight POST /process_chunk sent at once, beside eight cold `pocketsphinx_continuous` started at
 *   once (what a server that runs the command per request would do), as chunks per second. No target.
 *
 * `tsx bench/transcription.ts` prints the figures; `runTranscriptionBench()` returns them.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { pcm16ToWav } from '../functions/adapters/transcriber/pcm';
import { request } from '../test/support/http';
import { removeDataDir, startStackProcess } from '../test/support/local-stack-process';
import { type Comparison, compare, inAlternatingOrder, median, type Progress } from './support/report';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const CLIP_SECONDS = 3;
const SAMPLE_RATE = 16000;
const SOURCE = '/usr/share/pocketsphinx/test/data/numbers.raw';
const TARGET_RATIO = 0.5;
/** Chunks sent at once in the burst. */
const BURST = 8;
const BURST_RUNS = Number(process.env.BENCH_RUNS ?? 3);

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
      code === 0
        ? resolveRun({ ms: performance.now() - started, text: text.trim().split(/\s+/).join(' ') })
        : reject(new Error(`exit ${code}`)),
    );
  });

/** Wall time of `work`, which starts several things at once, from its start to the last one's end. */
const wallTimeOf = async <T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> => {
  const started = performance.now();
  const value = await work();
  return { ms: performance.now() - started, value };
};

export const runTranscriptionBench = async (progress: Progress = () => undefined): Promise<Comparison[]> => {
  const work = await mkdtemp(join(tmpdir(), 'interview-ops-bench-transcription-'));
  const clipPath = join(work, 'clip.wav');
  const clip = await threeSecondClip();
  await writeFile(clipPath, clip);
  const stack = await startStackProcess();
  try {
    await request(stack.url, 'POST', '/sessions', { json: { session_id: 'bench' } });
    const chunkIds: string[] = [];
    for (let chunk = 0; chunk < BURST; chunk++) {
      const uploaded = await request(stack.url, 'POST', '/sessions/bench/audio_chunks', {
        body: clip,
        headers: { 'content-type': 'audio/wav' },
      });
      chunkIds.push(String(uploaded.json.data.chunk_id));
    }
    // Let the automatic transcriptions of the uploads finish so they do not share the recognizer with a run.
    for (const chunkId of chunkIds) {
      while ((await request(stack.url, 'GET', `/transcript/bench/${chunkId}`)).status !== 200) await sleep(100);
    }
    const processChunk = async (chunkId: string) => {
      const started = performance.now();
      const response = await request(stack.url, 'POST', `/process_chunk/${chunkId}?session_id=bench`);
      if (response.status !== 200) throw new Error(`process_chunk answered ${response.status}: ${response.text}`);
      return { ms: performance.now() - started, text: String(response.json.data.transcript) };
    };
    const [chunkId] = chunkIds as [string];
    await processChunk(chunkId); // warm the handler module as a warm Lambda would be

    const api: number[] = [];
    const cold: number[] = [];
    let texts = { api: '', cold: '' };
    for (let run = 0; run < RUNS; run++) {
      const ours = await processChunk(chunkId);
      const theirs = await coldContinuous(clipPath);
      api.push(ours.ms);
      cold.push(theirs.ms);
      texts = { api: ours.text, cold: theirs.text };
      progress(
        `run ${run + 1}/${RUNS}: POST /process_chunk ${ours.ms.toFixed(0)} ms, cold pocketsphinx_continuous ${theirs.ms.toFixed(0)} ms`,
      );
    }

    // Chunks per second of each burst.
    const burstOurs: number[] = [];
    const burstCold: number[] = [];
    const burstOfOurs = async () => {
      const { ms, value } = await wallTimeOf(() => Promise.all(chunkIds.map(processChunk)));
      const words = new Set(value.map(({ text }) => text));
      if (words.size !== 1) throw new Error(`the burst's transcripts differ: ${[...words].join(' | ')}`);
      burstOurs.push((BURST * 1000) / ms);
    };
    const burstOfCold = async () => {
      const { ms } = await wallTimeOf(() => Promise.all(chunkIds.map(() => coldContinuous(clipPath))));
      burstCold.push((BURST * 1000) / ms);
    };
    for (let run = 1; run <= BURST_RUNS; run++) {
      await inAlternatingOrder(run, burstOfOurs, burstOfCold);
      progress(
        `burst ${run}/${BURST_RUNS}: ${BURST} chunks at once, ours ${burstOurs.at(-1)!.toFixed(2)} chunks/s, cold commands ${burstCold.at(-1)!.toFixed(2)} chunks/s`,
      );
    }
    const burstRatios = burstOurs.map((ours, run) => ours / burstCold[run]!);

    return [
      compare({
        benchmark: 'transcription',
        metric: `POST /process_chunk latency, ${CLIP_SECONDS} s clip, warm recognizer`,
        unit: 'ms',
        ours: median(api),
        anchor: median(cold),
        anchorName: 'cold pocketsphinx_continuous -infile, same clip',
        target: `ratio <= ${TARGET_RATIO}`,
        check: ({ ratio }) => ratio !== undefined && ratio <= TARGET_RATIO,
        runs: RUNS,
        note: `api min/max ${Math.min(...api).toFixed(0)}/${Math.max(...api).toFixed(0)} ms, cold min/max ${Math.min(...cold).toFixed(0)}/${Math.max(...cold).toFixed(0)} ms; api "${texts.api}", cold "${texts.cold}"`,
      }),
      compare({
        benchmark: 'transcription',
        metric: `throughput, ${BURST} chunks of ${CLIP_SECONDS} s sent at once`,
        unit: 'chunks/s',
        ours: median(burstOurs),
        anchor: median(burstCold),
        anchorName: `${BURST} cold pocketsphinx_continuous started at once`,
        // Each burst beside the anchor's burst next to it, as the API benchmark pairs its runs.
        ratio: median(burstRatios),
        runs: BURST_RUNS,
        note: `ours queues the chunks for one warm recognizer; the commands share both cores; ratio per pair ${burstRatios.map((ratio) => ratio.toFixed(2)).join(', ')}`,
      }),
    ];
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
