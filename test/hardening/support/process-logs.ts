/**
 * The JSON log lines a child process writes to stderr. Powertools writes WARN and ERROR there (INFO to
 * stdout, which test/support/local-stack-process.ts collects), and fault tests read the failures.
 */
import type { Readable } from 'node:stream';

export const collectJsonLines = (stream: Readable): Record<string, unknown>[] => {
  const lines: Record<string, unknown>[] = [];
  let pending = '';
  stream.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const complete = pending.split('\n');
    pending = complete.pop()!;
    for (const line of complete) {
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not a log line
      }
    }
  });
  return lines;
};
