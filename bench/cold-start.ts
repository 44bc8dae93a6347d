/**
 * Cold start: every Lambda bundle the stack builds, its size, and the time a fresh Node process takes to
 * import it and answer one event, against a hello-world handler and a handler that only imports
 * @aws-sdk/client-s3, bundled the same way (lib/bundling.ts: minified ESM with the SDK inside, and the
 * adapters a function does not need left out by the same defines).
 *
 * No AWS is reachable here, so every AWS endpoint points at a closed loopback port: a handler that needs
 * its dependencies builds its clients, makes its first request and answers 503 (or throws, for event
 * functions), as fast as a refused connection allows; a request that fails validation answers 400
 * first. The S3-only anchor likewise makes one ListObjectsV2 request. Times are medians of fresh processes.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { eventFunctions, routes } from '../functions/routes';
import { adapterDefinesFor, LOCAL_ENGINE_MODULES, REQUIRE_SHIM } from '../lib/bundling';
import { needsOf } from '../lib/function-needs';
import { PROJECT_ROOT } from '../lib/project-root';
import { type Comparison, compare, median, type Progress } from './support/report';

const RUNS = Number(process.env.BENCH_COLD_RUNS ?? 7);
const SDK = ['@aws-sdk/*', '@smithy/*', '@aws-crypto/*'];

const bundle = async (entry: string, outfile: string, withoutSdk: boolean, define: Record<string, string> = {}) => {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    // Not the Lambda runtime's node24: these bundles run here, on this machine's Node.
    target: 'node22',
    minify: true,
    banner: { js: REQUIRE_SHIM },
    external: [...LOCAL_ENGINE_MODULES, ...(withoutSdk ? SDK : [])],
    logLevel: 'error',
    define,
    // The anchors' sources sit beside the bundles, outside the project: resolve their imports from ours.
    nodePaths: [join(PROJECT_ROOT, 'node_modules')],
  });
  return (await stat(outfile)).size;
};

const AWS_ENVIRONMENT = {
  AWS_LAMBDA_FUNCTION_NAME: 'bench',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'AKIDBENCH',
  AWS_SECRET_ACCESS_KEY: 'bench',
  AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
  AWS_MAX_ATTEMPTS: '1',
  BUCKET_NAME: 'bench-bucket',
  DB_CLUSTER_ARN: 'arn:aws:rds:us-east-1:000000000000:cluster:bench',
  DB_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:bench',
  RUN_MIGRATIONS_AT_START: 'false',
  TRANSCRIBER: 'aws-transcribe',
  LOG_LEVEL: 'ERROR',
};

/** The event a function gets first: an API Gateway request for routes, the trigger's event otherwise. */
const firstEvent = (handler: string) => {
  const route = routes.find((candidate) => candidate.handler === handler);
  if (route) {
    const rawPath = route.path.replace(/\{(\w+)\}/g, (_match, name: string) =>
      name === 'snapshot_id' ? 'snapshot_1704110400' : name === 'chunk_id' ? '1' : 'bench',
    );
    const pathParameters = Object.fromEntries(
      [...route.path.matchAll(/\{(\w+)\}/g)].map((match) => [match[1], rawPath.split('/')[route.path.split('/').indexOf(match[0])]]),
    );
    return {
      version: '2.0',
      routeKey: `${route.method} ${route.path}`,
      rawPath,
      rawQueryString: '',
      headers: { 'content-type': 'application/json' },
      pathParameters,
      requestContext: { http: { method: route.method, path: rawPath }, requestId: 'bench', stage: '$default' },
      body: route.method === 'POST' ? '{}' : undefined,
      isBase64Encoded: false,
    };
  }
  const definition = eventFunctions.find((candidate) => candidate.handler === handler);
  if (definition?.trigger.kind === 'object-created') {
    return {
      Records: [
        {
          eventSource: 'aws:s3',
          eventName: 'ObjectCreated:Put',
          s3: { bucket: { name: 'bench-bucket' }, object: { key: 'audio/bench/1.wav', size: 1 } },
        },
      ],
    };
  }
  return {
    version: '0',
    id: 'bench',
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    time: new Date().toISOString(),
    detail: {},
    resources: [],
  };
};

/** Milliseconds from the start of the import to the settled answer, in a fresh process. */
const coldStart = (file: string, event: unknown): number => {
  const script = `
    const started = performance.now();
    const { handler } = await import(${JSON.stringify(`file://${file}`)});
    const context = { functionName: 'bench', awsRequestId: 'bench', getRemainingTimeInMillis: () => 30000 };
    try { await handler(${JSON.stringify(event)}, context); } catch {}
    process.stdout.write(String(performance.now() - started));
    process.exit(0);`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH, ...AWS_ENVIRONMENT },
    encoding: 'utf8',
    timeout: 30_000,
  });
  const elapsed = Number(result.stdout);
  if (!Number.isFinite(elapsed) || elapsed <= 0) throw new Error(`cold start of ${file} failed: ${result.stderr.slice(0, 500)}`);
  return elapsed;
};

const ANCHORS = {
  'hello-world': `export const handler = async () => ({ statusCode: 200, body: 'hello' });`,
  's3-only': `import { S3Client, ListObjectsV2Command } from '@aws-sdk/client-s3';
const s3 = new S3Client({});
export const handler = async () => {
  try { await s3.send(new ListObjectsV2Command({ Bucket: 'bench-bucket', MaxKeys: 1 })); } catch {}
  return { statusCode: 200, body: 'listed' };
};`,
};

export const runColdStartBenchmark = async (progress: Progress): Promise<Comparison[]> => {
  // Outside the project, as on Lambda: a bundle must carry everything it imports.
  const out = await mkdtemp(join(tmpdir(), 'bench-bundles-'));
  try {
    const anchorFiles: Record<string, string> = {};
    for (const [name, source] of Object.entries(ANCHORS)) {
      const entry = join(out, `${name}.mjs`);
      await writeFile(entry, source);
      anchorFiles[name] = join(out, `${name}.bundle.mjs`);
      await bundle(entry, anchorFiles[name]!, false);
    }
    const helloWorld = median(Array.from({ length: RUNS }, () => coldStart(anchorFiles['hello-world']!, {})));
    const handlers = [
      ...new Set([...routes.map((route) => route.handler), ...eventFunctions.map((entry) => entry.handler), 'migrate-database']),
    ];
    const results: Comparison[] = [];
    for (const handler of handlers) {
      progress(`cold start: ${handler}`);
      const entry = join(PROJECT_ROOT, 'functions', 'handlers', `${handler}.ts`);
      await mkdir(join(out, handler), { recursive: true });
      const deployed = join(out, handler, 'index.mjs');
      const define = adapterDefinesFor(needsOf(handler));
      const fullBytes = await bundle(entry, deployed, false, define);
      const withoutSdkBytes = await bundle(entry, join(out, handler, 'without-sdk.mjs'), true, define);
      const event = firstEvent(handler);
      // Each run starts the S3-only anchor and this bundle back to back, so drift in the machine's load
      // falls on both sides of the ratio alike.
      const ours: number[] = [];
      const anchor: number[] = [];
      for (let run = 0; run < RUNS; run++) {
        anchor.push(coldStart(anchorFiles['s3-only']!, {}));
        ours.push(coldStart(deployed, event));
      }
      results.push(
        compare({
          benchmark: `Cold start ${handler}`,
          metric: 'bundle size without the SDK',
          unit: 'KB',
          ours: withoutSdkBytes / 1000,
          target: '<= 300 KB',
          check: ({ ours }) => ours <= 300,
          runs: 1,
          note: `with the SDK: ${(fullBytes / 1000).toFixed(0)} KB`,
        }),
        compare({
          benchmark: `Cold start ${handler}`,
          metric: 'import + first answer',
          unit: 'ms',
          ours: median(ours),
          anchor: median(anchor),
          anchorName: 'handler importing only @aws-sdk/client-s3',
          target: 'ratio <= 1.5',
          check: ({ ratio }) => ratio !== undefined && ratio <= 1.5,
          runs: RUNS,
          note: `hello-world handler: ${helloWorld.toFixed(1)} ms`,
        }),
      );
    }
    return results;
  } finally {
    await rm(out, { recursive: true, force: true });
  }
};
