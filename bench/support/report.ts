/** What every benchmark reports: our figure beside its anchor's, their ratio, and the target it is held to. */
import { cpus, release, totalmem } from 'node:os';

export interface Comparison {
  benchmark: string;
  metric: string;
  unit: string;
  ours: number;
  /** The anchor's figure, when the benchmark has one. */
  anchor?: number;
  anchorName?: string;
  /** ours / anchor. */
  ratio?: number;
  /** e.g. "ratio <= 0.5" or "ours <= 256"; met says whether this run met it. */
  target?: string;
  met?: boolean;
  runs: number;
  note?: string;
}

export type Progress = (message: string) => void;

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/**
 * Runs one of ours and one of the anchor's back to back, the anchor first on even runs (counting from 1),
 * so warm-up and drift in the machine's load do not favour one side.
 */
export const inAlternatingOrder = async (run: number, ours: () => Promise<unknown>, anchor: () => Promise<unknown>): Promise<void> => {
  for (const measure of run % 2 ? [ours, anchor] : [anchor, ours]) await measure();
};

/**
 * One row of the table. The ratio is ours / anchor, unless the benchmark gives its own: one that pairs
 * each run with an anchor run beside it passes the median of the runs' ratios, which a machine's drift
 * between runs moves less than the ratio of two medians.
 */
export const compare = (
  fields: Omit<Comparison, 'met'> & { check?: (comparison: { ours: number; ratio?: number }) => boolean },
): Comparison => {
  const { check, ...rest } = fields;
  const ratio = rest.ratio ?? (rest.anchor !== undefined && rest.anchor !== 0 ? rest.ours / rest.anchor : undefined);
  return {
    ...rest,
    ...(ratio !== undefined ? { ratio } : {}),
    ...(check ? { met: check({ ours: rest.ours, ...(ratio !== undefined ? { ratio } : {}) }) } : {}),
  };
};

export const machine = () => ({
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  kernel: release(),
  date: new Date().toISOString(),
});

const format = (value: number | undefined, digits = 2) =>
  value === undefined ? '' : Math.abs(value) >= 100 ? value.toFixed(0) : value.toFixed(digits);

export const markdownTable = (rows: readonly Comparison[]): string => {
  const lines = [
    '| benchmark | metric | ours | anchor | ratio | target | met |',
    '| --- | --- | ---: | ---: | ---: | --- | --- |',
    ...rows.map(
      (row) =>
        `| ${row.benchmark} | ${row.metric} (${row.unit}) | ${format(row.ours)} | ${row.anchor === undefined ? '' : `${format(row.anchor)} (${row.anchorName})`} | ${format(row.ratio)} | ${row.target ?? ''} | ${row.met === undefined ? '' : row.met ? 'yes' : 'NO'} |`,
    ),
  ];
  return lines.join('\n');
};
