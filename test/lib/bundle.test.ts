/**
 * The one test that bundles for real: every function through NodejsFunction's local esbuild (no
 * Docker), as `cdk synth` and `cdk deploy` do. Reports each bundle's size, loads each bundle as ESM
 * to prove it starts, and checks the migration SQL travels with the migration function.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventFunctions, routes } from '../../functions/routes';
import { needsOf, usesBucket } from '../../lib/function-needs';
import { constructIdOf, InterviewOpsStack } from '../../lib/interview-ops-stack';
import { PROJECT_ROOT } from '../../lib/project-root';

/** Lambda's limit for an unzipped deployment package is 250 MB; a bundle near it would also start slowly. */
const MAX_BUNDLE_BYTES = 10 * 1024 * 1024;

describe('function bundles', () => {
  // Outside the project, as on Lambda: a bundle that imported a package it does not carry (the local
  // database engines are left out) would fail to load here, not resolve it from our node_modules.
  const outdir = mkdtempSync(join(tmpdir(), 'bundle-test-'));
  const bundles = new Map<string, { dir: string; bytes: number }>();

  beforeAll(() => {
    const app = new App({ outdir });
    const stack = new InterviewOpsStack(app, 'InterviewOps');
    app.synth();
    const functions = Template.fromStack(stack).findResources('AWS::Lambda::Function');
    const handlers = new Set([
      ...routes.map((route) => route.handler),
      ...eventFunctions.map((entry) => entry.handler),
      'migrate-database',
    ]);
    for (const handler of handlers) {
      const prefix = `${constructIdOf(handler)}Function`;
      const [, fn] = Object.entries(functions).find(([id]) => id.startsWith(prefix) && id.length === prefix.length + 8)!;
      const s3Key = (fn as { Properties: { Code: { S3Key: string } } }).Properties.Code.S3Key;
      const dir = join(outdir, `asset.${s3Key.replace(/\.zip$/, '')}`);
      bundles.set(handler, { dir, bytes: statSync(join(dir, 'index.mjs')).size });
    }
    const report = [...bundles].map(([handler, { bytes }]) => `${handler.padEnd(28)} ${(bytes / 1024).toFixed(0).padStart(6)} KiB`);
    console.log(`Bundle sizes (index.mjs, minified ESM):\n${report.join('\n')}`);
  }, 600_000);

  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('builds one ESM bundle per function, each under the size budget', () => {
    expect(bundles.size).toBe(new Set([...routes.map((r) => r.handler), ...eventFunctions.map((e) => e.handler)]).size + 1);
    for (const [handler, { bytes }] of bundles) {
      expect(bytes, handler).toBeGreaterThan(1024);
      expect(bytes, handler).toBeLessThan(MAX_BUNDLE_BYTES);
    }
  });

  it('leaves the local database engines out of the bundles', () => {
    for (const [handler, { dir }] of bundles) {
      const files = readdirSync(dir, { recursive: true }).map(String);
      expect(
        files.filter((file) => /pglite|\.wasm$|\.data$/.test(file)),
        handler,
      ).toEqual([]);
    }
  });

  it('loads every bundle as an ES module that exports a handler, with no node_modules to fall back on', () => {
    // Plain Node, as Lambda loads them: going through the test runner's transform would only add time.
    expect(existsSync(join(outdir, '..', 'node_modules'))).toBe(false);
    const files = [...bundles.values()].map(({ dir }) => pathToFileURL(join(dir, 'index.mjs')).href);
    const script = `for (const file of ${JSON.stringify(files)}) console.log(typeof (await import(file)).handler);`;
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(output.trim().split('\n')).toEqual(files.map(() => 'function'));
  });

  it('bundles the S3 and Amazon Transcribe clients only into the functions whose needs grant them', () => {
    // Operation names survive minification; each client carries its own.
    const carries = (handler: string, operation: string) =>
      readFileSync(join(bundles.get(handler)!.dir, 'index.mjs'), 'utf8').includes(`"${operation}"`);
    for (const handler of bundles.keys()) {
      const needs = needsOf(handler);
      expect(carries(handler, 'ListObjectsV2'), `${handler} and S3`).toBe(usesBucket(needs));
      expect(carries(handler, 'StartStreamTranscription'), `${handler} and Transcribe`).toBe(Boolean(needs.transcribe));
    }
    expect(carries('list-snapshots', 'ListObjectsV2')).toBe(true);
    expect(carries('get-session', 'ListObjectsV2')).toBe(false);
    expect(carries('process-chunk', 'StartStreamTranscription')).toBe(true);
  });

  it('ships the migration SQL files beside the migration function', () => {
    const { dir } = bundles.get('migrate-database')!;
    const shipped = readdirSync(join(dir, 'migrations')).sort();
    expect(shipped).toEqual(
      readdirSync(join(PROJECT_ROOT, 'db', 'migrations'))
        .filter((name) => name.endsWith('.sql'))
        .sort(),
    );
    expect(existsSync(join(bundles.get('health')!.dir, 'migrations'))).toBe(false);
  });
});
