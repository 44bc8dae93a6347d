/**
 * What the end-to-end suite runs against: the real `npm start` process (TARGET unset or 'local') or the
 * twin of what `cdk deploy` ships (TARGET=twin). Both answer the same HTTP API; a test talks to either
 * through this interface only, so one suite checks both.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, normalize } from 'node:path';
import { type ApiResponse, request } from './http';
import { removeDataDir, type StackProcess, startStackProcess } from './local-stack-process';

export type TargetKind = 'local' | 'twin';

export interface TargetOptions {
  snapshotIntervalSeconds?: number;
  /** local only */
  dataDir?: string;
  /** local only */
  env?: Record<string, string>;
  /**
   * 'busy': every transcription fails as a retry may cure (dependency unavailable), so chunks stay pending
   * with the reason recorded: locally pocketsphinx is not on PATH, on the twin Transcribe's stream quota is 0.
   */
  recognizer?: 'busy';
}

export interface Target {
  kind: TargetKind;
  url: string;
  /** A client's request: SigV4-signed on the twin (its API requires IAM), plain locally. Same shape as test/support/http.ts request(). */
  request<T = any>(
    method: string,
    path: string,
    init?: { json?: unknown; body?: RequestInit['body']; headers?: Record<string, string> },
  ): Promise<ApiResponse<T>>;
  /** Bytes of a stored object by the file_path the API returned (a path relative to DATA_DIR locally; s3://bucket/key on the twin); undefined when absent. */
  readObject(filePath: string): Promise<Buffer | undefined>;
  /** Bytes of a stored object by key (e.g. 'audio/s1/3.wav'); undefined when absent. */
  readKey(key: string): Promise<Buffer | undefined>;
  /** Removes a stored object by key, behind the service's back (as an operator or a lifecycle rule might). */
  removeKey(key: string): Promise<void>;
  /** Resolves when no event-driven run or retry is in flight (the twin's Lambda retries; locally one run per event). */
  settled(): Promise<void>;
  /** Every JSON log line the functions wrote so far. */
  logs: Record<string, unknown>[];
  stop(): Promise<void>;
}

export const targetKind = (): TargetKind => (process.env.TARGET === 'twin' ? 'twin' : 'local');

export const startTarget = async (options: TargetOptions = {}): Promise<Target> =>
  targetKind() === 'twin' ? (await import('./twin-target')).startTwinTarget(options) : startLocalTarget(options);

/** For beforeAll: the twin may synthesize and deploy before it answers; the local stack opens PGlite. */
export const TARGET_START_TIMEOUT_MS = targetKind() === 'twin' ? 300_000 : 120_000;

/**
 * The object key a file_path names, checked against the form the target must use: `s3://bucket/key` on
 * the twin, the bare key (the path under DATA_DIR) locally. Throws on any other form, so a test that
 * compares keys also checks the form.
 */
export const keyOf = (filePath: string, kind: TargetKind = targetKind()): string => {
  if (kind === 'twin') {
    const match = /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/(.+)$/.exec(filePath);
    if (!match) throw new Error(`file_path "${filePath}" is not s3://bucket/key`);
    return match[1]!;
  }
  if (filePath.includes('://') || isAbsolute(filePath) || normalize(filePath) !== filePath || filePath.startsWith('..')) {
    throw new Error(`file_path "${filePath}" is not a key under DATA_DIR`);
  }
  return filePath;
};

export interface LocalTarget extends Target {
  kind: 'local';
  dataDir: string;
  process: StackProcess;
}

const readIfPresent = async (path: string): Promise<Buffer | undefined> => {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
};

/** Warnings and errors go to stderr: add their JSON lines to the same log list as stdout's. */
const collectStderrLogs = (stack: StackProcess) => {
  let pending = '';
  stack.child.stderr!.on('data', (chunk: Buffer) => {
    const lines = (pending + chunk.toString()).split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      try {
        const entry: unknown = JSON.parse(line);
        if (entry && typeof entry === 'object' && !Array.isArray(entry)) stack.logs.push(entry as Record<string, unknown>);
      } catch {
        // not a log line
      }
    }
  });
};

/** The real `npm start` process; its data directory is removed on stop unless the caller gave it. */
export const startLocalTarget = async (options: TargetOptions = {}): Promise<LocalTarget> => {
  // A PATH with nothing on it: pocketsphinx_batch cannot be found, exactly as before it is installed.
  const emptyPath = options.recognizer === 'busy' ? await mkdtemp(join(tmpdir(), 'interview-ops-empty-path-')) : undefined;
  const env = {
    ...(options.snapshotIntervalSeconds === undefined ? {} : { SNAPSHOT_INTERVAL_SECONDS: String(options.snapshotIntervalSeconds) }),
    ...(emptyPath ? { PATH: emptyPath } : {}),
    ...options.env,
  };
  const stack = await startStackProcess({ ...(options.dataDir ? { dataDir: options.dataDir } : {}), env });
  collectStderrLogs(stack);
  const ownsDataDir = options.dataDir === undefined;
  const readKey = (key: string) => readIfPresent(join(stack.dataDir, keyOf(key, 'local')));
  return {
    kind: 'local',
    url: stack.url,
    dataDir: stack.dataDir,
    process: stack,
    logs: stack.logs,
    request: (method, path, init) => request(stack.url, method, path, init),
    readObject: readKey,
    readKey,
    removeKey: (key) => rm(join(stack.dataDir, keyOf(key, 'local'))),
    // The local notifier runs the handler once per event, and the caller has seen its outcome.
    settled: async () => undefined,
    async stop() {
      await stack.stop();
      if (ownsDataDir) await removeDataDir(stack.dataDir);
      if (emptyPath) await rm(emptyPath, { recursive: true, force: true });
    },
  };
};
