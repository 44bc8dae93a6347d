/**
 * API throughput and latency of GET /transcript/{session_id}/{chunk_id} and GET /sandbox_snapshots
 * through `npm start`, under autocannon at 10 and 100 connections, beside a bare node:http server
 * answering the same bodies from memory. With two or more CPUs, autocannon and the servers are pinned
 * to different ones, so the figures measure the server rather than the two sharing a core.
 */

import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import autocannon from 'autocannon';
import { cpuMicrosecondsOf, pinProcess, startBareServer, startLocalStackProcess } from './support/processes';
import { type Comparison, compare, inAlternatingOrder, median, type Progress } from './support/report';

/** Pairs of runs, ours beside the anchor's: this machine drifts between fast and slow spells, and five pairs give a median that one odd pair does not move. */
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const SECONDS = Number(process.env.BENCH_API_SECONDS ?? 5);
const CLIP = '/usr/share/pocketsphinx/test/data/cards/001.wav';

const json = async (url: string, init?: RequestInit) => {
  const response = await fetch(url, init);
  const body = (await response.json()) as { success: boolean; data: any; message: string };
  if (!response.ok) throw new Error(`${init?.method ?? 'GET'} ${url}: ${response.status} ${body.message}`);
  return body;
};

interface Load {
  result: autocannon.Result;
  /** The server's CPU time per answered request, in microseconds. */
  cpuPerRequest: number;
}

const load = async (url: string, connections: number, serverPid: number): Promise<Load> => {
  const cpuBefore = cpuMicrosecondsOf(serverPid);
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    autocannon({ url, connections, duration: SECONDS, pipelining: 1 }, (error, outcome) => (error ? reject(error) : resolve(outcome)));
  });
  return { result, cpuPerRequest: (cpuMicrosecondsOf(serverPid) - cpuBefore) / Math.max(result.requests.total, 1) };
};

const SERVER_CPU = '1';
const LOAD_CPU = '0';
/** Longer than the whole benchmark: the local scheduler's first tick comes one interval after the start. */
const SCHEDULE_OFF_SECONDS = 24 * 60 * 60;

/** Seeds a session with one transcribed chunk and a handful of snapshots; returns the two paths to load. */
const seed = async (base: string) => {
  await json(`${base}/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ session_id: 'bench-session' }),
  });
  const upload = await json(`${base}/sessions/bench-session/audio_chunks`, {
    method: 'POST',
    headers: { 'content-type': 'audio/wav' },
    body: readFileSync(CLIP),
  });
  const chunkId = upload.data.chunk_id as string;
  await json(`${base}/process_chunk/${chunkId}?session_id=bench-session`, { method: 'POST' });
  for (let i = 0; i < 5; i++) {
    await json(`${base}/sandbox_snapshot/trigger`, { method: 'POST' }).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  return [`/transcript/bench-session/${chunkId}`, '/sandbox_snapshots'];
};

export const runApiBenchmark = async (progress: Progress): Promise<Comparison[]> => {
  progress('api: starting the local stack and seeding it');
  const pinned = availableParallelism() >= 2 && pinProcess(process.pid, LOAD_CPU);
  // No scheduled snapshot during the runs: each would add a snapshot to the listing under test, which the
  // anchor, holding the body read before the runs, would not answer, and spend the server's CPU on work
  // that is not the request's.
  const stack = await startLocalStackProcess({ SNAPSHOT_INTERVAL_SECONDS: String(SCHEDULE_OFF_SECONDS) });
  if (pinned) pinProcess(stack.pid, SERVER_CPU);
  const results: Comparison[] = [];
  const placement = pinned ? `servers on CPU ${SERVER_CPU}, autocannon on CPU ${LOAD_CPU}` : 'unpinned';
  try {
    const paths = await seed(stack.url);
    const bodies = Object.fromEntries(
      await Promise.all(paths.map(async (path) => [path, await (await fetch(`${stack.url}${path}`)).text()])),
    );
    const bare = await startBareServer(bodies);
    const barePid = bare.child.pid!;
    if (pinned) pinProcess(barePid, SERVER_CPU);
    try {
      for (const path of paths) {
        for (const connections of [10, 100]) {
          const ours: Load[] = [];
          const anchor: Load[] = [];
          for (let run = 1; run <= RUNS; run++) {
            progress(
              `api: ${path.replace(/bench-session\/\d+/, '{session_id}/{chunk_id}')} at ${connections} connections, run ${run}/${RUNS}`,
            );
            await inAlternatingOrder(
              run,
              async () => ours.push(await load(`${stack.url}${path}`, connections, stack.pid)),
              async () => anchor.push(await load(`${bare.url}${path}`, connections, barePid)),
            );
          }
          const failures = ours.reduce((sum, { result }) => sum + result.errors + result.non2xx, 0);
          // The comparison holds only while both servers answer the same bytes.
          const answered = await (await fetch(`${stack.url}${path}`)).text();
          if (answered !== bodies[path]) throw new Error(`${path} changed during the runs, so the anchor no longer answers the same body`);
          // Information, not a target: the local stack is a development server (ARCHITECTURE.md). The ratio
          // flatters ours when the anchor idles, so its CPU load goes in the note.
          const anchorBusy = median(anchor.map(({ result, cpuPerRequest }) => (result.requests.average * cpuPerRequest) / 1e6));
          // Each run's ratio against the anchor run beside it, so a spell that slows both servers cancels out.
          const runRatios = ours.map(({ result }, run) => result.requests.average / anchor[run]!.result.requests.average);
          const route = path.startsWith('/transcript/') ? 'GET /transcript/{session_id}/{chunk_id}' : `GET ${path}`;
          results.push(
            compare({
              benchmark: `API ${route}`,
              metric: `throughput at ${connections} connections`,
              unit: 'req/s',
              ours: median(ours.map(({ result }) => result.requests.average)),
              anchor: median(anchor.map(({ result }) => result.requests.average)),
              anchorName: 'bare node:http from memory',
              ratio: median(runRatios),
              runs: RUNS,
              note: [
                placement,
                `anchor's CPU ${Math.round(anchorBusy * 100)}% busy`,
                `ratio per pair of runs ${runRatios.map((ratio) => ratio.toFixed(2)).join(', ')}`,
                ...(failures ? [`${failures} failed requests`] : []),
              ].join('; '),
            }),
          );
          results.push(
            compare({
              benchmark: `API ${route}`,
              metric: `server CPU per request at ${connections} connections`,
              unit: 'µs',
              ours: median(ours.map(({ cpuPerRequest }) => cpuPerRequest)),
              anchor: median(anchor.map(({ cpuPerRequest }) => cpuPerRequest)),
              anchorName: 'bare node:http from memory',
              runs: RUNS,
              note: placement,
            }),
          );
          results.push(
            compare({
              benchmark: `API ${route}`,
              metric: `p99 latency at ${connections} connections`,
              unit: 'ms',
              ours: median(ours.map(({ result }) => result.latency.p99)),
              anchor: median(anchor.map(({ result }) => result.latency.p99)),
              anchorName: 'bare node:http from memory',
              ...(connections === 10 ? { target: 'ours < 10 ms', check: ({ ours: p99 }) => p99 < 10 } : {}),
              runs: RUNS,
            }),
          );
        }
      }
    } finally {
      await bare.stop();
    }
  } finally {
    await stack.stop();
    if (pinned) pinProcess(process.pid, `0-${availableParallelism() - 1}`);
  }
  return results;
};
