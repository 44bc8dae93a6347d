/**
 * `npm run bench`: every benchmark beside its anchor on this machine, one after another so none competes
 * with another for the two cores. Prints progress, then a markdown table; writes bench/results.json.
 * BENCH_ONLY=api,snapshot,transcription,cold-start,growth,transcripts,snapshot-growth runs a subset.
 */
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../lib/project-root';
import { runApiBenchmark } from './api';
import { runColdStartBenchmark } from './cold-start';
import { runGrowthBenchmark } from './growth';
import { runSnapshotBench } from './snapshot';
import { runSnapshotGrowthBench } from './snapshot-growth';
import { type Comparison, machine, markdownTable, type Progress } from './support/report';
import { runTranscriptionBench } from './transcription';
import { runTranscriptsBench } from './transcripts';

const BENCHMARKS: Record<string, (progress: Progress) => Promise<Comparison | Comparison[]>> = {
  api: runApiBenchmark,
  snapshot: runSnapshotBench,
  transcription: runTranscriptionBench,
  'cold-start': runColdStartBenchmark,
  growth: runGrowthBenchmark,
  transcripts: runTranscriptsBench,
  'snapshot-growth': runSnapshotGrowthBench,
};

const only = process.env.BENCH_ONLY?.split(',').map((name) => name.trim());
const selected = Object.entries(BENCHMARKS).filter(([name]) => !only || only.includes(name));
const started = Date.now();
const progress =
  (name: string): Progress =>
  (message) =>
    console.error(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${name}: ${message}`);

const results: Comparison[] = [];
const failures: { benchmark: string; error: string }[] = [];
const loadBefore = loadavg()[0]!;
for (const [name, run] of selected) {
  progress(name)('starting');
  try {
    results.push(...[await run(progress(name))].flat());
  } catch (error) {
    failures.push({ benchmark: name, error: error instanceof Error ? error.message : String(error) });
    progress(name)(`FAILED: ${failures.at(-1)!.error}`);
  }
}

const report = {
  machine: { ...machine(), loadAverageAtStart: loadBefore },
  seconds: Math.round((Date.now() - started) / 1000),
  results,
  failures,
};
// A subset does not replace the full record the README quotes.
const resultsFile = only ? 'results.partial.json' : 'results.json';
await writeFile(join(PROJECT_ROOT, 'bench', resultsFile), `${JSON.stringify(report, null, 2)}\n`);
const { cpu, cores, memoryGiB, node, date } = report.machine;
console.log(
  `\ninterview-ops benchmarks, ${date}: ${cpu}, ${cores} cores, ${memoryGiB} GiB, Node ${node}, load average ${loadBefore.toFixed(2)} at start\n`,
);
console.log(markdownTable(results));
if (failures.length > 0) console.log(`\nFailed: ${failures.map((failure) => `${failure.benchmark} (${failure.error})`).join('; ')}`);
console.log(
  `\nWritten to bench/${resultsFile}. Targets missed: ${results.filter((result) => result.met === false).length} of ${results.filter((result) => result.met !== undefined).length}.`,
);
if (!only) await import('../scripts/benchmarks-doc').then((doc) => doc.writeBenchmarksDoc());
process.exit(failures.length > 0 ? 1 : 0);
