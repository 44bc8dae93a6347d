/**
 * Runs the real `npm start` entry point (bin/local.ts, built as npm start builds it) as a child process
 * on a free port with its own data directory, as a user would, and talks to it over HTTP.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../lib/project-root';
import { buildLocalServer, LOCAL_SERVER_NODE_OPTIONS } from '../../scripts/local-server-build';

export interface StackProcess extends LoggingProcess {
  dataDir: string;
}

export const newDataDir = (label = 'stack') => mkdtemp(join(tmpdir(), `interview-ops-${label}-`));

export interface LoggingProcess {
  url: string;
  /** Every JSON log line the process has written so far. */
  logs: Record<string, unknown>[];
  child: ChildProcess;
  /** Sends the signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Spawns a Node process of this project that logs JSON lines, and resolves once it logs `readyMessage`
 * with the `url` it listens on.
 */
export const spawnLoggingProcess = async (args: string[], env: Record<string, string>, readyMessage: string): Promise<LoggingProcess> => {
  const child = spawn(process.execPath, args, { cwd: PROJECT_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = await new Promise<string>((resolveUrl, reject) => {
    let pending = '';
    const timer = setTimeout(() => reject(new Error(`${args.at(-1)} did not start in time\n${stderr}`)), 90_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          logs.push(entry);
          if (entry.message === readyMessage) {
            clearTimeout(timer);
            resolveUrl(String(entry.url));
          }
        } catch {
          // not a log line
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args.at(-1)} exited with ${code} before listening\n${stderr}`));
    });
  });
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  return {
    url,
    logs,
    child,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
};

/** Built once per test process, from the sources as they are now. */
let built: Promise<string> | undefined;
const localServer = () => (built ??= buildLocalServer());

export const startStackProcess = async (options: { dataDir?: string; env?: Record<string, string> } = {}): Promise<StackProcess> => {
  const dataDir = options.dataDir ?? (await newDataDir());
  const stack = await spawnLoggingProcess(
    [...LOCAL_SERVER_NODE_OPTIONS, await localServer()],
    { PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'INFO', ...options.env },
    'Local stack listening',
  );
  return { ...stack, dataDir };
};

export const removeDataDir = (dataDir: string) => rm(dataDir, { recursive: true, force: true });
