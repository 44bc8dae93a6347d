/**
 * `npm run bench:doc`: rewrites the results in docs/benchmarks.md from bench/results.json, between the
 * two marker comments, and leaves the rest of the page alone. `npm run bench` calls it after a full run,
 * so the page shows the last full run; earlier runs are in git history, not on the page.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Comparison, markdownTable } from '../bench/support/report';
import { PROJECT_ROOT } from '../lib/project-root';

export const RESULTS_START = '<!-- benchmarks-doc:start -->';
export const RESULTS_END = '<!-- benchmarks-doc:end -->';

interface BenchmarkReport {
  machine: { cpu: string; cores: number; memoryGiB: number; node: string; kernel?: string; date: string; loadAverageAtStart?: number };
  seconds: number;
  results: Comparison[];
  failures: { benchmark: string; error: string }[];
}

const duration = (seconds: number) => `${Math.floor(seconds / 60)} min ${seconds % 60} s`;

/** The generated part of the page: when and where the run was made, what it met, and its table. */
export const resultsSection = (report: BenchmarkReport): string => {
  const { machine, results, failures } = report;
  const judged = results.filter((row) => row.met !== undefined);
  const notJudged = results.filter((row) => row.target !== undefined && row.met === undefined);
  const finished = machine.date.replace('T', ' ').slice(0, 16);
  const load = machine.loadAverageAtStart === undefined ? '' : `, load average ${machine.loadAverageAtStart.toFixed(2)} at the start`;
  const lines = [
    `Run finished ${finished} UTC after ${duration(report.seconds)}: ${machine.cpu}, ${machine.cores} cores, ` +
      `${machine.memoryGiB} GiB, Node ${machine.node}${machine.kernel ? `, kernel ${machine.kernel}` : ''}${load}.`,
    '',
    `Targets met: ${judged.filter((row) => row.met).length} of ${judged.length} judged` +
      (notJudged.length > 0 ? `; not judged: ${notJudged.length} (the target column says why).` : '.'),
    ...(failures.length > 0
      ? ['', `Benchmarks that failed: ${failures.map((failure) => `${failure.benchmark} (${failure.error})`).join('; ')}.`]
      : []),
    '',
    markdownTable(results),
  ];
  return lines.join('\n');
};

/** The page with the text between the markers replaced; throws when the markers are missing or out of order. */
export const withResults = (page: string, section: string): string => {
  const start = page.indexOf(RESULTS_START);
  const end = page.indexOf(RESULTS_END);
  if (start < 0 || end < start) throw new Error(`docs/benchmarks.md needs the lines ${RESULTS_START} and ${RESULTS_END}, in that order`);
  return `${page.slice(0, start + RESULTS_START.length)}\n${section}\n${page.slice(end)}`;
};

export const writeBenchmarksDoc = async (root: string = PROJECT_ROOT): Promise<void> => {
  const report = JSON.parse(await readFile(join(root, 'bench', 'results.json'), 'utf8')) as BenchmarkReport;
  const pagePath = join(root, 'docs', 'benchmarks.md');
  const page = await readFile(pagePath, 'utf8');
  const updated = withResults(page, resultsSection(report));
  if (updated !== page) await writeFile(pagePath, updated);
  console.log(`docs/benchmarks.md ${updated === page ? 'already shows' : 'now shows'} bench/results.json (${report.machine.date})`);
};

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await writeBenchmarksDoc();
