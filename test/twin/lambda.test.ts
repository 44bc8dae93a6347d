/**
 * The twin's Lambda runtime: real bundles from a real `cdk synth`, and small hand-written functions,
 * each run in real child processes.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createFunctionRuntime, type FunctionRuntime, type FunctionRuntimeOptions, functionRuntimeOf } from '../../twin/lambda/runtime';
import { loadTemplate, type TwinTemplate } from '../../twin/template';
import { synthToTemp } from './synth';

const quiet = () => {};
const runtimes: FunctionRuntime[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((runtime) => runtime.close()));
});
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A function folder holding one index.mjs. */
const functionDir = async (source: string) => {
  const dir = await mkdtemp(join(tmpdir(), 'twin-fn-'));
  dirs.push(dir);
  await writeFile(join(dir, 'index.mjs'), source);
  return dir;
};

const runtimeOf = async (source: string, options: Partial<FunctionRuntimeOptions> = {}) => {
  const runtime = createFunctionRuntime({
    name: 'hand-written',
    assetDir: await functionDir(source),
    handler: 'index.handler',
    environment: {},
    timeoutSeconds: 3,
    memoryMb: 256,
    log: quiet,
    ...options,
  });
  runtimes.push(runtime);
  return runtime;
};

const apiEvent = (method: string, path: string) => ({
  version: '2.0',
  routeKey: `${method} ${path}`,
  rawPath: path,
  rawQueryString: '',
  headers: { host: 'twin.example', 'user-agent': 'test' },
  requestContext: {
    accountId: '000000000000',
    apiId: 'twinapi',
    domainName: 'twin.example',
    domainPrefix: 'twin',
    http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
    requestId: 'req-1',
    routeKey: `${method} ${path}`,
    stage: '$default',
    time: new Date().toISOString(),
    timeEpoch: Date.now(),
  },
  isBase64Encoded: false,
});

describe('bundles from a real cdk synth', () => {
  let synth: Awaited<ReturnType<typeof synthToTemp>>;
  let template: TwinTemplate;
  beforeAll(async () => {
    // TWIN_TEST_CDK_OUT: reuse an assembly already synthesized (while iterating); by default a fresh synth.
    const reuse = process.env.TWIN_TEST_CDK_OUT;
    synth = reuse ? { dir: reuse, remove: async () => {} } : await synthToTemp();
    template = loadTemplate(synth.dir);
  }, 180_000);
  afterAll(() => synth?.remove());

  const functionNamed = (prefix: string) => {
    const found = Object.values(template.functions()).find((fn) => fn.logicalId.startsWith(prefix));
    if (!found) throw new Error(`no function ${prefix}`);
    return found;
  };

  it('runs get-openapi from its asset folder: 200 and an OpenAPI document, cold once then warm', async () => {
    const runtime = functionRuntimeOf(functionNamed('GetOpenapiFunction'), { log: quiet });
    runtimes.push(runtime);
    const first = await runtime.invoke(apiEvent('GET', '/openapi.json'));
    expect(first.ok).toBe(true);
    const result = (first as { result: any }).result;
    expect(result.statusCode).toBe(200);
    const document = JSON.parse(result.body);
    expect(document.openapi).toMatch(/^3\.1/);
    expect(Object.keys(document.paths)).toContain('/sessions/{session_id}');
    const second = await runtime.invoke(apiEvent('GET', '/openapi.json'));
    expect(second.ok).toBe(true);
    expect(runtime.stats()).toMatchObject({ invocations: 2, coldStarts: 1, environments: 1 });
  });

  /** A bundled function whose S3 and Data API endpoints have nothing behind them: every AWS call is refused at once. */
  const withServicesDown = (prefix: string, log: (line: string) => void = quiet) => {
    const runtime = functionRuntimeOf(functionNamed(prefix), {
      log,
      environment: {
        AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9',
        AWS_ENDPOINT_URL_RDS_DATA: 'http://127.0.0.1:9',
        AWS_ACCESS_KEY_ID: 'ASIATWINTEST0000000',
        AWS_SECRET_ACCESS_KEY: 'twin-test-secret',
        AWS_SESSION_TOKEN: 'twin-test-token',
      },
    });
    runtimes.push(runtime);
    return runtime;
  };

  it('runs the liveness check with no service behind its endpoints: 200, and no AWS call', async () => {
    // Any AWS call would fail, and the check must not make one.
    const runtime = withServicesDown('HealthFunction');
    const answer = await runtime.invoke(apiEvent('GET', '/health'));
    expect(answer.ok).toBe(true);
    const result = (answer as { result: any }).result;
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body)).toEqual({ success: true, message: 'Service is healthy', data: { status: 'ok' } });
  });

  it('runs the snapshot trigger with its store down: the 503 envelope, and one EMF line counting the failure', async () => {
    const lines: string[] = [];
    const runtime = withServicesDown('TriggerSnapshotFunction', (line) => lines.push(line));
    const answer = await runtime.invoke(apiEvent('POST', '/sandbox_snapshot/trigger'));
    expect(answer.ok).toBe(true);
    expect((answer as { result: any }).result.statusCode).toBe(503);
    // Lambda's log pipeline turns this line into the InterviewOps metrics (functions/observability.ts).
    const emf = lines.flatMap((line) => {
      const start = line.indexOf('{"_aws"');
      return start < 0 ? [] : [JSON.parse(line.slice(start))];
    });
    expect(emf).toHaveLength(1);
    expect(emf[0]._aws.CloudWatchMetrics[0].Namespace).toBe('InterviewOps');
    expect(emf[0]).toMatchObject({ service: 'interview-ops', SnapshotsFailed: 1 });
  });

  it('runs the deep health check with no service behind its endpoints: the envelope of a 503, not a crash', async () => {
    const runtime = withServicesDown('HealthDeepFunction');
    const answer = await runtime.invoke(apiEvent('GET', '/health/deep'));
    expect(answer.ok).toBe(true);
    const result = (answer as { result: any }).result;
    expect(result.statusCode).toBe(503);
    const body = JSON.parse(result.body);
    expect(body.success).toBe(false);
    expect(typeof body.message).toBe('string');
    expect(result.body).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|at .*\.mjs/);
  });
});

describe('hand-written functions', () => {
  it('sets the environment and the context as Lambda does, and honours NODE_OPTIONS', async () => {
    const runtime = await runtimeOf(
      `export const handler = async (event, context) => ({
        env: Object.fromEntries(['AWS_LAMBDA_FUNCTION_NAME','AWS_LAMBDA_FUNCTION_VERSION','AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
          'AWS_REGION','AWS_DEFAULT_REGION','LAMBDA_TASK_ROOT','_HANDLER','TZ','AWS_LAMBDA_LOG_GROUP_NAME','FROM_TEMPLATE','HOME_OF_TEST']
          .map((name) => [name, process.env[name]])),
        sourceMaps: process.execArgv.includes('--enable-source-maps') || process.sourceMapsEnabled === true,
        heapLimitMb: Math.round((await import('node:v8')).getHeapStatistics().heap_size_limit / 1048576),
        cwd: process.cwd(),
        event,
        context: { awsRequestId: context.awsRequestId, functionName: context.functionName, functionVersion: context.functionVersion,
          memoryLimitInMB: context.memoryLimitInMB, invokedFunctionArn: context.invokedFunctionArn, logGroupName: context.logGroupName,
          callbackWaitsForEmptyEventLoop: context.callbackWaitsForEmptyEventLoop, remaining: context.getRemainingTimeInMillis() },
      });`,
      { name: 'env-fn', memoryMb: 512, timeoutSeconds: 7, environment: { FROM_TEMPLATE: 'yes', NODE_OPTIONS: '--enable-source-maps' } },
    );
    const answer = await runtime.invoke({ hello: 'world' });
    if (!answer.ok) throw new Error(answer.errorMessage);
    const result = answer.result as any;
    expect(result.env).toEqual({
      AWS_LAMBDA_FUNCTION_NAME: 'env-fn',
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
      AWS_REGION: 'us-east-1',
      AWS_DEFAULT_REGION: 'us-east-1',
      LAMBDA_TASK_ROOT: result.cwd,
      _HANDLER: 'index.handler',
      TZ: ':UTC',
      AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/env-fn',
      FROM_TEMPLATE: 'yes',
    });
    expect(result.sourceMaps).toBe(true);
    // --max-old-space-size near the memory size: 512 - 512/64 = 504 MB of old space, plus the young generation.
    expect(result.heapLimitMb).toBeGreaterThan(450);
    expect(result.heapLimitMb).toBeLessThan(600);
    expect(result.event).toEqual({ hello: 'world' });
    expect(result.context).toMatchObject({
      awsRequestId: answer.requestId,
      functionName: 'env-fn',
      functionVersion: '$LATEST',
      memoryLimitInMB: '512',
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:env-fn',
      logGroupName: '/aws/lambda/env-fn',
      callbackWaitsForEmptyEventLoop: true,
    });
    expect(result.context.remaining).toBeGreaterThan(0);
    expect(result.context.remaining).toBeLessThanOrEqual(7000);
  });

  it('keeps a warm environment between calls: module state survives, the pid stays', async () => {
    const runtime = await runtimeOf(`let calls = 0; export const handler = async () => ({ pid: process.pid, calls: ++calls });`);
    const a = await runtime.invoke({});
    const b = await runtime.invoke({});
    expect(a).toMatchObject({ ok: true, result: { calls: 1 } });
    expect(b).toMatchObject({ ok: true, result: { calls: 2, pid: (a as any).result.pid } });
    expect(runtime.stats()).toMatchObject({ coldStarts: 1, invocations: 2 });
  });

  it('gives a warm environment that sat idle longer than the timeout the whole timeout again', async () => {
    const runtime = await runtimeOf(
      `export const handler = async (event, context) => ({ pid: process.pid, remaining: context.getRemainingTimeInMillis() });`,
      {
        timeoutSeconds: 1,
      },
    );
    const first = await runtime.invoke({});
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const afterIdle = await runtime.invoke({});
    expect(afterIdle).toMatchObject({ ok: true, result: { pid: (first as any).result.pid } });
    expect((afterIdle as any).result.remaining).toBeGreaterThan(0);
  });

  it('kills an invocation past its timeout (Sandbox.Timedout); the next call cold-starts', async () => {
    const runtime = await runtimeOf(
      `let calls = 0;
       export const handler = async (event) => { calls++; if (event.hang) await new Promise(() => setInterval(() => {}, 1000)); return { pid: process.pid, calls }; };`,
      { timeoutSeconds: 1 },
    );
    const before = await runtime.invoke({});
    expect(before.ok).toBe(true);
    const hung = await runtime.invoke({ hang: true });
    expect(hung).toMatchObject({ ok: false, errorType: 'Sandbox.Timedout', timedOut: true });
    expect((hung as any).errorMessage).toContain('Task timed out after 1.00 seconds');
    const after = await runtime.invoke({});
    expect(after.ok).toBe(true);
    expect((after as any).result.pid).not.toBe((before as any).result.pid);
    expect((after as any).result.calls).toBe(1);
    expect(runtime.stats()).toMatchObject({ coldStarts: 2, timeouts: 1 });
    // The killed process is really gone.
    expect(() => process.kill((before as any).result.pid, 0)).toThrow();
  });

  it('answers a thrown error with its name and message; the environment stays warm', async () => {
    const runtime = await runtimeOf(
      `class ValidationProblem extends Error { name = 'ValidationProblem'; }
       let calls = 0;
       export const handler = async (event) => { calls++; if (event.fail) throw new ValidationProblem('bad input'); return calls; };`,
    );
    const failed = await runtime.invoke({ fail: true });
    expect(failed).toMatchObject({ ok: false, errorType: 'ValidationProblem', errorMessage: 'bad input' });
    expect(await runtime.invoke({})).toMatchObject({ ok: true, result: 2 });
  });

  it('answers an uncaught exception as the invocation error and an unhandled rejection as Runtime.UnhandledPromiseRejection; both end the environment', async () => {
    const runtime = await runtimeOf(
      `export const handler = async (event) => {
        if (event.uncaught) { setImmediate(() => { throw new SyntaxError('boom'); }); await new Promise(() => {}); }
        if (event.rejected) { Promise.reject(new Error('nobody waits')); await new Promise(() => {}); }
        return process.pid;
      };`,
    );
    const first = await runtime.invoke({});
    expect(await runtime.invoke({ uncaught: true })).toMatchObject({ ok: false, errorType: 'SyntaxError', errorMessage: 'boom' });
    const second = await runtime.invoke({});
    expect((second as any).result).not.toBe((first as any).result);
    expect(await runtime.invoke({ rejected: true })).toMatchObject({
      ok: false,
      errorType: 'Runtime.UnhandledPromiseRejection',
      errorMessage: 'Error: nobody waits',
    });
    const third = await runtime.invoke({});
    expect((third as any).result).not.toBe((second as any).result);
    expect(runtime.stats()).toMatchObject({ coldStarts: 3 });
  });

  it('answers Runtime.ExitError when the handler exits the process, and cold-starts after', async () => {
    const runtime = await runtimeOf(`export const handler = async (event) => { if (event.exit) process.exit(3); return process.pid; };`);
    const first = await runtime.invoke({});
    const died = await runtime.invoke({ exit: true });
    expect(died).toMatchObject({ ok: false, errorType: 'Runtime.ExitError' });
    expect((died as any).errorMessage).toBe(`RequestId: ${died.requestId} Error: Runtime exited with error: exit status 3`);
    const after = await runtime.invoke({});
    expect((after as any).result).not.toBe((first as any).result);
  });

  it('answers Runtime.JSONStringifyError for a result JSON cannot hold', async () => {
    const runtime = await runtimeOf(`export const handler = async () => { const loop = {}; loop.self = loop; return loop; };`);
    expect(await runtime.invoke({})).toMatchObject({
      ok: false,
      errorType: 'Runtime.JSONStringifyError',
      errorMessage: 'Unable to stringify response body',
    });
  });

  it('throttles the call beyond reserved concurrency; async calls wait for an environment', async () => {
    const runtime = await runtimeOf(
      `export const handler = async (event) => { await new Promise((r) => setTimeout(r, event.ms)); return process.pid; };`,
      {
        reservedConcurrency: 2,
      },
    );
    const slow = [runtime.invoke({ ms: 1500 }), runtime.invoke({ ms: 1500 })];
    const third = await runtime.invoke({ ms: 0 });
    expect(third).toMatchObject({ ok: false, errorType: 'TooManyRequestsException', throttled: true });
    const asyncThird = runtime.invoke({ ms: 0 }, { invocationType: 'Event' });
    const results = await Promise.all([...slow, asyncThird]);
    expect(results.every((result) => result.ok)).toBe(true);
    expect(new Set(results.slice(0, 2).map((result: any) => result.result)).size).toBe(2);
    expect(runtime.stats()).toMatchObject({ coldStarts: 2, throttles: 1, invocations: 3 });
  });

  it('refuses payloads over the limits and a response over 6 MB', async () => {
    const runtime = await runtimeOf(`export const handler = async (event) => event.big ? 'x'.repeat(7 * 1024 * 1024) : 'small';`);
    expect(await runtime.invoke({ pad: 'y'.repeat(1024 * 1024) }, { invocationType: 'Event' })).toMatchObject({
      ok: false,
      errorType: 'RequestEntityTooLargeException',
    });
    expect(await runtime.invoke({ pad: 'y'.repeat(6 * 1024 * 1024) })).toMatchObject({
      ok: false,
      errorType: 'RequestEntityTooLargeException',
    });
    expect(await runtime.invoke({ pad: 'y'.repeat(1024 * 1024) })).toMatchObject({ ok: true, result: 'small' });
    expect(await runtime.invoke({ pad: 'y'.repeat(1000 * 1024) }, { invocationType: 'Event' })).toMatchObject({
      ok: true,
      result: 'small',
    });
    expect(await runtime.invoke({ big: true })).toMatchObject({ ok: false, errorType: 'Function.ResponseSizeTooLarge' });
  });

  it('forwards the output lines of the function to the log sink, prefixed with its name', async () => {
    const lines: string[] = [];
    const runtime = await runtimeOf(`export const handler = async () => { console.log('hello from', 'the function'); return 1; };`, {
      log: (line) => lines.push(line),
    });
    const answer = await runtime.invoke({});
    // The line travels on the child's stdout pipe, the result on its IPC channel: wait for the pipe.
    for (let i = 0; i < 100 && !lines.some((line) => line.includes('hello from')); i++)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(lines.some((line) => line.includes(answer.requestId) && line.includes('INFO\thello from the function'))).toBe(true);
    expect(lines).toContain(`[hand-written] START RequestId: ${answer.requestId} Version: $LATEST`);
    expect(lines.every((line) => line.startsWith('[hand-written] '))).toBe(true);
  });

  it('ends running invocations on close and refuses later ones', async () => {
    const runtime = await runtimeOf(`export const handler = async () => new Promise(() => {});`);
    const running = runtime.invoke({});
    // Wait until the invocation really runs in its environment.
    for (let i = 0; i < 250 && runtime.stats().invocations === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    await runtime.close();
    expect(await running).toMatchObject({ ok: false, errorType: 'Runtime.ExitError' });
    expect(await runtime.invoke({})).toMatchObject({ ok: false, errorType: 'ResourceNotFoundException' });
    expect(runtime.stats().environments).toBe(0);
  });

  it('runs a copy of the asset: a package in a node_modules above the asset folder is not found, as on Lambda', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'twin-parent-'));
    dirs.push(parent);
    await mkdir(join(parent, 'node_modules', 'left-out'), { recursive: true });
    await writeFile(join(parent, 'node_modules', 'left-out', 'package.json'), '{"name":"left-out","main":"index.js"}');
    await writeFile(join(parent, 'node_modules', 'left-out', 'index.js'), 'module.exports = 1;');
    await mkdir(join(parent, 'asset'));
    await writeFile(
      join(parent, 'asset', 'index.mjs'),
      `import value from 'left-out'; export const handler = async () => ({ value, cwd: process.cwd() });`,
    );
    const options = {
      name: 'copy-fn',
      assetDir: join(parent, 'asset'),
      handler: 'index.handler',
      environment: {},
      timeoutSeconds: 3,
      memoryMb: 128,
      log: quiet,
    };
    const copied = createFunctionRuntime(options);
    runtimes.push(copied);
    expect(await copied.invoke({})).toMatchObject({ ok: false, errorType: 'Runtime.ImportModuleError' });
    // The same folder run in place finds it: the copy is what makes the difference.
    const inPlace = createFunctionRuntime({ ...options, copyAsset: false });
    runtimes.push(inPlace);
    expect(await inPlace.invoke({})).toMatchObject({ ok: true, result: { value: 1, cwd: join(parent, 'asset') } });
  });

  it('reports an init failure with the runtime error type', async () => {
    const runtime = await runtimeOf(`export const notTheHandler = 1;`);
    expect(await runtime.invoke({})).toMatchObject({ ok: false, errorType: 'Runtime.HandlerNotFound' });
  });

  it('refuses a callback-style handler on nodejs24.x and runs it on nodejs20.x', async () => {
    const source = `export const handler = (event, context, callback) => callback(null, 'called back');`;
    const modern = await runtimeOf(source);
    expect(await modern.invoke({})).toMatchObject({ ok: false, errorType: 'Runtime.CallbackHandlerDeprecated' });
    const older = await runtimeOf(source, { runtime: 'nodejs20.x' });
    expect(await older.invoke({})).toMatchObject({ ok: true, result: 'called back' });
  });
});
