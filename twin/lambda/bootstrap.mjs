/**
 * One twin Lambda execution environment: started by twin/lambda/runtime.ts in the function's asset folder
 * (LAMBDA_TASK_ROOT) with the environment Lambda sets. It loads the handler named by _HANDLER once (the
 * init phase of a cold start), says so, and then serves invocations one at a time over the IPC channel,
 * as the Lambda Node.js runtime serves them from its Runtime API.
 *
 * Messages, parent → child: {type:'invoke', requestId, payload (JSON text), deadlineMs (epoch ms),
 * invokedFunctionArn}. Child → parent: {type:'ready'} | {type:'init-error', errorType, errorMessage} |
 * {type:'result', requestId, payload (JSON text)} | {type:'error', requestId, errorType, errorMessage, trace}.
 *
 * Plain JavaScript on purpose: it runs in a bare `node` (no tsx), next to code esbuild bundled.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { format } from 'node:util';

const send = (message) =>
  new Promise((resolve) => {
    if (!process.connected) return resolve();
    process.send(message, undefined, undefined, () => resolve());
  });

// The parent went away: nothing will ever invoke this environment again.
process.on('disconnect', () => process.exit(0));

let currentRequestId;

// The Lambda Node.js runtime patches console so each line carries the time, the request id and a level.
const patchConsole = () => {
  const write =
    (level, stream) =>
    (...args) => {
      const text = format(...args).replace(/\n/g, '\r');
      stream.write(`${new Date().toISOString()}\t${currentRequestId ?? 'undefined'}\t${level}\t${text}\n`);
    };
  console.log = write('INFO', process.stdout);
  console.info = write('INFO', process.stdout);
  console.debug = write('DEBUG', process.stdout);
  console.trace = write('TRACE', process.stdout);
  console.warn = write('WARN', process.stderr);
  console.error = write('ERROR', process.stderr);
};

const errorShape = (error) => {
  if (error instanceof Error) {
    return {
      errorType: error.name || 'Error',
      errorMessage: error.message,
      trace: typeof error.stack === 'string' ? error.stack.split('\n') : [],
    };
  }
  // Lambda names a thrown non-Error after its type: throw 'x' → {errorType: 'string', errorMessage: 'x'}.
  return { errorType: typeof error, errorMessage: String(error), trace: [] };
};

/** 'dir/index.handler' → the module dir/index(.js|.mjs|.cjs) and its export `handler`, as Lambda resolves it. */
const loadHandler = async () => {
  const spec = process.env._HANDLER ?? '';
  const root = process.env.LAMBDA_TASK_ROOT ?? process.cwd();
  const dot = spec.lastIndexOf('.');
  if (dot <= 0) throw Object.assign(new Error(`Bad handler ${spec}`), { name: 'Runtime.MalformedHandlerName' });
  const modulePath = spec.slice(0, dot);
  const exportName = spec.slice(dot + 1);
  const file = ['.js', '.mjs', '.cjs'].map((ext) => join(root, modulePath + ext)).find((candidate) => existsSync(candidate));
  if (!file) {
    throw Object.assign(new Error(`Error: Cannot find module '${modulePath}'`), { name: 'Runtime.ImportModuleError' });
  }
  let loaded;
  try {
    loaded = await import(pathToFileURL(file).href);
  } catch (error) {
    if (error instanceof SyntaxError)
      throw Object.assign(new Error(`${error.name}: ${error.message}`), { name: 'Runtime.UserCodeSyntaxError' });
    if (error?.code === 'ERR_MODULE_NOT_FOUND')
      throw Object.assign(new Error(`Error: ${error.message}`), { name: 'Runtime.ImportModuleError' });
    throw error;
  }
  const handler = loaded[exportName] ?? loaded.default?.[exportName];
  if (typeof handler !== 'function') {
    throw Object.assign(new Error(`${modulePath}.${exportName} is undefined or not exported`), { name: 'Runtime.HandlerNotFound' });
  }
  // Node.js 24 and later runtimes refuse callback-style handlers (three or more parameters) at init.
  const runtime = /nodejs(\d+)/.exec(process.env.AWS_EXECUTION_ENV ?? '')?.[1];
  if (handler.length >= 3 && (runtime === undefined || Number(runtime) >= 24)) {
    throw Object.assign(new Error(CALLBACK_ERROR), { name: 'Runtime.CallbackHandlerDeprecated' });
  }
  if (handler.length >= 3) {
    // Older runtimes: the callback settles the invocation.
    return (event, context) =>
      new Promise((resolve, reject) => {
        const result = handler(event, context, (error, value) => (error ? reject(error) : resolve(value)));
        if (result && typeof result.then === 'function') result.then(resolve, reject);
      });
  }
  return handler;
};

const CALLBACK_ERROR =
  'ERROR: AWS Lambda has removed support for callback-based function handlers starting with Node.js 24. You need to modify this function to use a supported handler signature to use Node.js 24 or later. For more information see https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html.';

const contextFor = (message) => {
  const env = process.env;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
    invokedFunctionArn: message.invokedFunctionArn,
    awsRequestId: message.requestId,
    getRemainingTimeInMillis: () => Math.max(0, message.deadlineMs - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
};

/**
 * What the Lambda Node.js runtime does with an uncaught exception or an unhandled rejection: report it as
 * the current invocation's error (or as the init error), then exit (129 and 128), so Lambda starts a
 * fresh environment for the next invocation.
 */
let inInvocation = false;
const failAndExit = async (shape, code) => {
  // `exiting`: the parent must not hand this environment another invocation.
  await send(inInvocation ? { type: 'error', requestId: currentRequestId, exiting: true, ...shape } : { type: 'init-error', ...shape });
  process.exit(code);
};
process.on('uncaughtException', (error) => {
  console.error(`Uncaught Exception\t${JSON.stringify(errorShape(error))}`);
  void failAndExit(errorShape(error), 129);
});
process.on('unhandledRejection', (reason) => {
  const shape = {
    errorType: 'Runtime.UnhandledPromiseRejection',
    errorMessage: reason?.toString?.() ?? String(reason),
    trace: reason instanceof Error && typeof reason.stack === 'string' ? reason.stack.split('\n') : [],
  };
  console.error(`Unhandled Promise Rejection\t${JSON.stringify(shape)}`);
  void failAndExit(shape, 128);
});

const main = async () => {
  patchConsole();
  let handler;
  try {
    handler = await loadHandler();
  } catch (error) {
    console.error(`Init error: ${error?.stack ?? error}`);
    await send({ type: 'init-error', ...errorShape(error) });
    process.exit(129);
  }
  process.on('message', async (message) => {
    if (message?.type !== 'invoke') return;
    currentRequestId = message.requestId;
    inInvocation = true;
    // Lambda's runtime sets the invocation's trace header in the environment, where the X-Ray SDK reads it.
    if (message.traceId) process.env._X_AMZN_TRACE_ID = message.traceId;
    else delete process.env._X_AMZN_TRACE_ID;
    let reply;
    try {
      const result = await handler(JSON.parse(message.payload), contextFor(message));
      let payload;
      try {
        // Lambda serializes the result as JSON; undefined travels as null.
        payload = JSON.stringify(result === undefined ? null : result);
      } catch {
        throw Object.assign(new Error('Unable to stringify response body'), { name: 'Runtime.JSONStringifyError' });
      }
      reply = { type: 'result', requestId: message.requestId, payload };
    } catch (error) {
      reply = { type: 'error', requestId: message.requestId, ...errorShape(error) };
      console.error(
        `Invoke Error \t${JSON.stringify({ errorType: reply.errorType, errorMessage: reply.errorMessage, stack: reply.trace })}`,
      );
    }
    inInvocation = false;
    await send(reply);
  });
  await send({ type: 'ready' });
};

await main();
