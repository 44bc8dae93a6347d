/** Child processes for benchmarks: the local stack as `npm start` runs it, and the bare server to compare with. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { removeDataDir, spawnLoggingProcess, startStackProcess } from '../../test/support/local-stack-process';

/** The local stack in its own process and data directory; INFO logs only the start line and refusals. */
export const startLocalStackProcess = async (env: Record<string, string> = {}) => {
  const stack = await startStackProcess({ env });
  return {
    url: stack.url,
    pid: stack.child.pid!,
    async stop() {
      await stack.stop();
      await removeDataDir(stack.dataDir);
    },
  };
};

/** bench/support/bare-server.ts in its own process, answering `bodies` (path → body) from memory. */
export const startBareServer = (bodies: Record<string, string>) =>
  spawnLoggingProcess(
    ['--import', 'tsx', 'bench/support/bare-server.ts'],
    { BARE_BODIES: JSON.stringify(bodies) },
    'bare server listening',
  );

const CLOCK_TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

/** CPU time a process has used so far, user and system, all threads, in microseconds (from /proc). */
export const cpuMicrosecondsOf = (pid: number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of stat(5); the slice starts at field 3.
  return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / CLOCK_TICKS_PER_SECOND;
};

/** Pins a process and all its threads to `cpus` (a taskset list such as "1" or "0-1"); false when taskset cannot. */
export const pinProcess = (pid: number, cpus: string): boolean => {
  try {
    execFileSync('taskset', ['--all-tasks', '--cpu-list', '--pid', cpus, String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
