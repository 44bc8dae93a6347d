/**
 * The twin's Lambda service for one function: runs the function's asset folder from cdk.out as Lambda
 * runs it. Each execution environment is a child `node` process (bootstrap.mjs) started in the asset
 * folder with the environment Lambda sets; it loads the handler once (cold start) and then serves one
 * invocation at a time, as a warm environment does. Concurrent invocations get more environments, up to
 * the function's reserved concurrency (else the twin's account concurrency); beyond it a synchronous
 * invocation is throttled and an asynchronous one waits in Lambda's internal queue.
 *
 * An invocation that outlives the function's timeout is answered Sandbox.Timedout and its process is
 * killed (SIGKILL), so the next invocation cold-starts. As the Lambda Node.js runtime does, an uncaught
 * exception is the invocation's error (its name and message) and an unhandled rejection is
 * Runtime.UnhandledPromiseRejection, and either ends the environment; a process that exits on its own
 * mid-invocation (process.exit) is Runtime.ExitError. Payload limits: 6 MB each way for synchronous
 * invocations, 1 MB for an asynchronous request (the Invoke API reference's limits; 256 KB before 2025).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export type InvocationType = 'RequestResponse' | 'Event';

export type InvokeResult =
  | { ok: true; result: unknown; requestId: string }
  | {
      ok: false;
      errorType: string;
      errorMessage: string;
      requestId: string;
      trace?: string[];
      /** The function ran past its timeout and its environment was killed. */
      timedOut?: boolean;
      /** Refused before running: no environment could be had within the concurrency limit. */
      throttled?: boolean;
      /** Refused before running: the request payload is over Lambda's limit (RequestEntityTooLargeException). */
      tooLarge?: boolean;
    };

export interface FunctionRuntimeOptions {
  /** The function's name (AWS_LAMBDA_FUNCTION_NAME, the log prefix). */
  name: string;
  /** The function's asset folder in cdk.out. */
  assetDir: string;
  /**
   * Run from a copy of the asset in a fresh temporary folder (default true), as Lambda runs the unzipped
   * package in /var/task: nothing above it, so a module the bundle left out is missing here as on Lambda,
   * instead of being found in a node_modules above cdk.out.
   */
  copyAsset?: boolean;
  /** The template's Handler, e.g. 'index.handler'. */
  handler: string;
  /** The template's Environment.Variables, resolved, plus endpoints and credentials from the orchestrator. */
  environment: Record<string, string>;
  timeoutSeconds: number;
  memoryMb: number;
  /** ReservedConcurrentExecutions; unset: the account's unreserved concurrency (accountConcurrency). */
  reservedConcurrency?: number;
  /** Concurrency available to a function without reserved concurrency (AWS: 1000 per region by default). */
  accountConcurrency?: number;
  extraNodeArgs?: string[];
  region?: string;
  accountId?: string;
  /** Defaults to arn:aws:lambda:<region>:<account>:function:<name>. */
  functionArn?: string;
  /** Defaults to /aws/lambda/<name>. */
  logGroupName?: string;
  /** Where the environments' output lines and the START/END/REPORT lines go, each prefixed `[name] `; default: stderr. */
  log?: (line: string) => void;
  /** The Lambda runtime name reported in AWS_EXECUTION_ENV (template Runtime). */
  runtime?: string;
  /** Active tracing: each invocation gets a sampled X-Ray trace id in _X_AMZN_TRACE_ID, as Lambda gives it. */
  activeTracing?: boolean;
}

/** An X-Ray trace header as Lambda hands one to a traced invocation: a new root, a parent segment id, sampled. */
export const newTraceHeader = (now = Date.now()): string =>
  `Root=1-${Math.floor(now / 1000).toString(16)}-${randomBytes(12).toString('hex')};Parent=${randomBytes(8).toString('hex')};Sampled=1`;

export interface InvokeOptions {
  invocationType?: InvocationType;
  /** An asynchronous retry runs under the request id of the event's first attempt, as Lambda's do. */
  requestId?: string;
}

export interface RuntimeStats {
  invocations: number;
  coldStarts: number;
  throttles: number;
  timeouts: number;
  errors: number;
  /** Environments alive now. */
  environments: number;
}

export interface FunctionRuntime {
  readonly name: string;
  readonly functionArn: string;
  invoke(event: unknown, options?: InvokeOptions): Promise<InvokeResult>;
  stats(): RuntimeStats;
  /** Kills every environment, as a crash would (their invocations end as Runtime.ExitError); the next call cold-starts. */
  crashEnvironments(): void;
  /** Kills every environment (their invocations end as Runtime.ExitError); later ones are ResourceNotFoundException. */
  close(): Promise<void>;
}

/**
 * Lambda's request payload limits, in bytes. The Invoke API reference: "For synchronous invocations, the
 * maximum payload size is 6 MB. For asynchronous invocations, the maximum payload size is 1 MB" (it was
 * 256 KB until late 2025; the deprecated InvokeAsync action keeps 256 KB).
 */
export const SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024;
export const ASYNC_PAYLOAD_LIMIT = 1024 * 1024;
/** Lambda's response limit, as its error message states it (6 MB plus 100 bytes). */
export const RESPONSE_PAYLOAD_LIMIT = 6_291_556;
/** How long an on-demand init may take before Lambda counts the rest against the invocation's timeout. */
const INIT_GRACE_MS = 10_000;

const BOOTSTRAP = join(dirname(fileURLToPath(import.meta.url)), 'bootstrap.mjs');

/** The heap flags the Lambda Node.js runtime's bootstrap derives from the memory size. */
export const memoryArgs = (memoryMb: number) => {
  const newSpace = Math.floor(memoryMb / 64);
  return [`--max-semi-space-size=${Math.max(1, Math.floor(newSpace / 2))}`, `--max-old-space-size=${memoryMb - newSpace}`];
};

interface Pending {
  requestId: string;
  resolve: (result: InvokeResult) => void;
  timer?: NodeJS.Timeout;
}

interface Environment {
  id: number;
  child: ChildProcess;
  ready: Promise<boolean>;
  busy: boolean;
  dead: boolean;
  pending?: Pending;
  initError?: { errorType: string; errorMessage: string };
  spawnedAt: number;
  readyAt?: number;
  /** Set once: the first invocation of an environment reports its init duration. */
  initReported: boolean;
}

/** Task folders of runtimes not closed yet: removed when the process exits without closing them. */
const liveTaskFolders = new Set<string>();
let exitHookInstalled = false;
const removeOnExit = (folder: string) => {
  liveTaskFolders.add(folder);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const dir of liveTaskFolders) rmSync(dir, { recursive: true, force: true });
  });
};

const stderrLine = (line: string) => process.stderr.write(`${line}\n`);

export const createFunctionRuntime = (options: FunctionRuntimeOptions): FunctionRuntime => {
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '000000000000';
  const functionArn = options.functionArn ?? `arn:aws:lambda:${region}:${accountId}:function:${options.name}`;
  const logGroupName = options.logGroupName ?? `/aws/lambda/${options.name}`;
  const sink = options.log ?? stderrLine;
  const log = (line: string) => sink(`[${options.name}] ${line}`);
  const limit = options.reservedConcurrency ?? options.accountConcurrency ?? 1000;
  const timeoutMs = Math.round(options.timeoutSeconds * 1000);

  const copy = options.copyAsset !== false;
  const taskRoot = copy ? join(mkdtempSync(join(tmpdir(), 'twin-task-')), 'task') : options.assetDir;
  if (copy) {
    cpSync(options.assetDir, taskRoot, { recursive: true });
    removeOnExit(dirname(taskRoot));
  }

  const environments = new Set<Environment>();
  const waiting: Array<() => void> = [];
  const counters = { invocations: 0, coldStarts: 0, throttles: 0, timeouts: 0, errors: 0 };
  let nextId = 1;
  let closed = false;

  const environmentVariables = (): Record<string, string> => {
    const nodeDir = dirname(process.execPath);
    return {
      PATH: `${nodeDir}:/usr/local/bin:/usr/bin:/bin`,
      LANG: 'en_US.UTF-8',
      ...options.environment,
      // Set by Lambda; a function's own variables cannot override these.
      AWS_LAMBDA_FUNCTION_NAME: options.name,
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(options.memoryMb),
      AWS_LAMBDA_LOG_GROUP_NAME: logGroupName,
      AWS_LAMBDA_LOG_STREAM_NAME: `${new Date().toISOString().slice(0, 10).replace(/-/g, '/')}/[$LATEST]${randomUUID().replace(/-/g, '')}`,
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      AWS_EXECUTION_ENV: `AWS_Lambda_${options.runtime ?? 'nodejs24.x'}`,
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      LAMBDA_TASK_ROOT: taskRoot,
      _HANDLER: options.handler,
      TZ: ':UTC',
    };
  };

  const forward = (stream: NodeJS.ReadableStream | null) => {
    if (!stream) return;
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => log(line));
  };

  const settle = (environment: Environment, result: InvokeResult) => {
    const pending = environment.pending;
    if (!pending) return;
    environment.pending = undefined;
    if (pending.timer) clearTimeout(pending.timer);
    pending.resolve(result);
  };

  const release = (environment: Environment) => {
    environment.busy = false;
    const next = waiting.shift();
    if (next) next();
  };

  const discard = (environment: Environment) => {
    if (!environments.delete(environment)) return;
    environment.dead = true;
    if (environment.child.exitCode === null && environment.child.signalCode === null) environment.child.kill('SIGKILL');
    const next = waiting.shift();
    if (next) next();
  };

  const spawnEnvironment = (): Environment => {
    counters.coldStarts++;
    const child = fork(BOOTSTRAP, [], {
      cwd: taskRoot,
      env: environmentVariables(),
      // Not the parent's execArgv (test runners, loaders): only what Lambda's bootstrap passes. NODE_OPTIONS
      // from the environment is read by node itself, as on Lambda.
      execArgv: ['--expose-gc', '--max-http-header-size=81920', ...memoryArgs(options.memoryMb), ...(options.extraNodeArgs ?? [])],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    forward(child.stdout);
    forward(child.stderr);
    let markReady: (ready: boolean) => void = () => {};
    const environment: Environment = {
      id: nextId++,
      child,
      ready: new Promise<boolean>((resolve) => {
        markReady = resolve;
      }),
      busy: false,
      dead: false,
      spawnedAt: Date.now(),
      initReported: false,
    };
    child.on('message', (message: any) => {
      switch (message?.type) {
        case 'ready':
          environment.readyAt = Date.now();
          markReady(true);
          break;
        case 'init-error':
          environment.initError = { errorType: String(message.errorType), errorMessage: String(message.errorMessage) };
          markReady(false);
          break;
        case 'result':
          if (environment.pending?.requestId === message.requestId) {
            const bytes = Buffer.byteLength(message.payload, 'utf8');
            settle(
              environment,
              bytes > RESPONSE_PAYLOAD_LIMIT
                ? {
                    ok: false,
                    requestId: message.requestId,
                    errorType: 'Function.ResponseSizeTooLarge',
                    errorMessage: `Response payload size exceeded maximum allowed payload size (${RESPONSE_PAYLOAD_LIMIT} bytes).`,
                  }
                : { ok: true, requestId: message.requestId, result: JSON.parse(message.payload) },
            );
          }
          break;
        case 'error':
          // The runtime reported an uncaught error and is exiting: this environment serves nothing more.
          if (message.exiting) discard(environment);
          if (environment.pending?.requestId === message.requestId) {
            settle(environment, {
              ok: false,
              requestId: message.requestId,
              errorType: String(message.errorType),
              errorMessage: String(message.errorMessage),
              trace: message.trace,
            });
          }
          break;
      }
    });
    child.on('exit', (code, signal) => {
      markReady(false);
      const pending = environment.pending;
      if (pending) {
        const status = signal ? `signal: ${signal === 'SIGKILL' ? 'killed' : signal}` : `exit status ${code}`;
        settle(environment, {
          ok: false,
          requestId: pending.requestId,
          ...(environment.initError ?? {
            errorType: 'Runtime.ExitError',
            errorMessage: `RequestId: ${pending.requestId} Error: Runtime exited with error: ${status}`,
          }),
        });
      }
      discard(environment);
    });
    child.on('error', (error) => log(`environment ${environment.id}: ${error.message}`));
    environments.add(environment);
    return environment;
  };

  /** An idle environment, a new one within the limit, or (async) one freed later; undefined: throttled. */
  const acquire = async (invocationType: InvocationType): Promise<Environment | undefined> => {
    for (;;) {
      if (closed) return undefined;
      for (const environment of environments) {
        if (!environment.busy && !environment.dead) {
          environment.busy = true;
          return environment;
        }
      }
      if (environments.size < limit) {
        const environment = spawnEnvironment();
        environment.busy = true;
        return environment;
      }
      if (invocationType === 'RequestResponse') return undefined;
      // Lambda keeps throttled asynchronous events in its queue and tries again when it can.
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
  };

  const run = async (environment: Environment, requestId: string, payload: string): Promise<InvokeResult> => {
    const cold = !environment.initReported;
    const startedAt = Date.now();
    log(`START RequestId: ${requestId} Version: $LATEST`);
    const result = await new Promise<InvokeResult>((resolve) => {
      const pending: Pending = { requestId, resolve };
      environment.pending = pending;
      const timeOut = () => {
        if (environment.pending !== pending) return;
        counters.timeouts++;
        settle(environment, {
          ok: false,
          requestId,
          errorType: 'Sandbox.Timedout',
          errorMessage: `RequestId: ${requestId} Error: Task timed out after ${options.timeoutSeconds.toFixed(2)} seconds`,
          timedOut: true,
        });
        // Lambda ends the environment of a timed-out invocation: the next one cold-starts.
        discard(environment);
      };
      // A cold start's init may take up to INIT_GRACE_MS outside the timeout; what it takes beyond that counts.
      pending.timer = setTimeout(timeOut, (cold ? INIT_GRACE_MS : 0) + timeoutMs);
      void environment.ready.then((ready) => {
        if (environment.pending !== pending) return;
        if (!ready) return; // the exit handler answers (init error or exit)
        // A warm environment's clock starts now; a cold one's when its init ended (or its grace ran out).
        const readyAt = environment.readyAt ?? Date.now();
        const deadlineMs = (cold ? Math.min(readyAt, environment.spawnedAt + INIT_GRACE_MS) : Date.now()) + timeoutMs;
        if (pending.timer) clearTimeout(pending.timer);
        pending.timer = setTimeout(timeOut, Math.max(0, deadlineMs - Date.now()));
        environment.child.send({
          type: 'invoke',
          requestId,
          payload,
          deadlineMs,
          invokedFunctionArn: functionArn,
          ...(options.activeTracing ? { traceId: newTraceHeader() } : {}),
        });
      });
    });
    const duration = Date.now() - startedAt;
    const initDuration = cold && environment.readyAt ? ` Init Duration: ${environment.readyAt - environment.spawnedAt} ms` : '';
    environment.initReported = true;
    if (result.ok === false && result.timedOut)
      log(`${new Date().toISOString()} ${requestId} Task timed out after ${options.timeoutSeconds.toFixed(2)} seconds`);
    log(`END RequestId: ${requestId}`);
    log(
      `REPORT RequestId: ${requestId}\tDuration: ${duration} ms\tBilled Duration: ${Math.max(1, duration)} ms\tMemory Size: ${options.memoryMb} MB${initDuration}`,
    );
    if (!environment.dead) release(environment);
    return result;
  };

  const invoke = async (event: unknown, invokeOptions: InvokeOptions = {}): Promise<InvokeResult> => {
    const invocationType = invokeOptions.invocationType ?? 'RequestResponse';
    const requestId = invokeOptions.requestId ?? randomUUID();
    const payload = JSON.stringify(event === undefined ? null : event);
    const payloadLimit = invocationType === 'Event' ? ASYNC_PAYLOAD_LIMIT : SYNC_PAYLOAD_LIMIT;
    if (Buffer.byteLength(payload, 'utf8') > payloadLimit) {
      return {
        ok: false,
        requestId,
        errorType: 'RequestEntityTooLargeException',
        errorMessage: `Request must be smaller than ${payloadLimit} bytes for the InvokeFunction operation`,
        tooLarge: true,
      };
    }
    const environment = await acquire(invocationType);
    if (closed) {
      // After close() the function is gone, as after the stack's deletion.
      if (environment) discard(environment);
      return { ok: false, requestId, errorType: 'ResourceNotFoundException', errorMessage: `Function not found: ${functionArn}` };
    }
    if (!environment) {
      counters.throttles++;
      return { ok: false, requestId, errorType: 'TooManyRequestsException', errorMessage: 'Rate Exceeded.', throttled: true };
    }
    counters.invocations++;
    const result = await run(environment, requestId, payload);
    if (!result.ok) counters.errors++;
    return result;
  };

  const close = async () => {
    closed = true;
    for (const resolve of waiting.splice(0)) resolve();
    const exits = [...environments].map(
      (environment) =>
        new Promise<void>((resolve) => {
          if (environment.child.exitCode !== null || environment.child.signalCode !== null) return resolve();
          environment.child.once('exit', () => resolve());
          environment.child.kill('SIGKILL');
        }),
    );
    await Promise.all(exits);
    if (copy) {
      rmSync(dirname(taskRoot), { recursive: true, force: true });
      liveTaskFolders.delete(dirname(taskRoot));
    }
  };

  return {
    name: options.name,
    functionArn,
    invoke,
    stats: () => ({ ...counters, environments: environments.size }),
    crashEnvironments: () => {
      for (const environment of [...environments]) environment.child.kill('SIGKILL');
    },
    close,
  };
};

/** What the template says about a function (twin/template.ts TwinFunction), as runtime options. */
export interface TemplateFunction {
  name: string;
  arn: string;
  handler: string;
  runtime: string;
  timeout: number;
  memory: number;
  environment: Record<string, string>;
  reservedConcurrency: number | undefined;
  assetDir: string | undefined;
  tracing?: 'Active' | 'PassThrough';
}

/** A runtime for a template function; `extra` adds the orchestrator's variables (endpoints, credentials) and settings. */
export const functionRuntimeOf = (
  fn: TemplateFunction,
  extra: { environment?: Record<string, string> } & Partial<Omit<FunctionRuntimeOptions, 'environment'>> = {},
): FunctionRuntime => {
  if (!fn.assetDir) throw new Error(`function ${fn.name} has no asset folder`);
  const { environment, ...rest } = extra;
  return createFunctionRuntime({
    name: fn.name,
    functionArn: fn.arn,
    assetDir: fn.assetDir,
    handler: fn.handler,
    runtime: fn.runtime,
    timeoutSeconds: fn.timeout,
    memoryMb: fn.memory,
    reservedConcurrency: fn.reservedConcurrency,
    activeTracing: fn.tracing === 'Active',
    ...rest,
    environment: { ...fn.environment, ...environment },
  });
};
