/** Child processes for benchmarks: the local stack as `npm start` runs it, and small servers to compare with. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');

export interface Child {
  child: ChildProcess;
  url: string;
  stop(): Promise<void>;
}

/** Spawns a process that prints a JSON line with `url` (our stack's "Local stack listening" log, or a bare server's). */
export const spawnServer = async (args: string[], env: Record<string, string>, isReady: (line: Record<string, unknown>) => boolean): Promise<Child> => {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = await new Promise<string>((resolveUrl, reject) => {
    let pending = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          if (isReady(entry)) resolveUrl(String(entry.url));
        } catch {
          // not JSON
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}\n${stderr}`)));
  });
  return {
    child,
    url,
    stop: () =>
      new Promise<void>((resolveStop) => {
        if (child.exitCode !== null) return resolveStop();
        child.once('exit', () => resolveStop());
        child.kill('SIGTERM');
      }),
  };
};

export const startLocalStackProcess = async (env: Record<string, string> = {}) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'interview-ops-bench-'));
  const stack = await spawnServer(
    ['--import', 'tsx', 'bin/local.ts'],
    // INFO logs only the start line and refusals: a successful request writes no log line.
    { PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'INFO', ...env },
    (line) => line.message === 'Local stack listening',
  );
  return {
    ...stack,
    dataDir,
    async stop() {
      await stack.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
};
