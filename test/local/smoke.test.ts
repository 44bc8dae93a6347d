/**
 * `npm run smoke -- --url URL` against a running local stack (the real `npm start` entry): it checks
 * health and every route, exits 0 and prints the seed-style summary.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routes } from '../../functions/routes';
import { PROJECT_ROOT } from '../../lib/project-root';
import { removeDataDir, type StackProcess, startStackProcess } from '../support/local-stack-process';

const run = promisify(execFile);

let stack: StackProcess;

beforeAll(async () => {
  stack = await startStackProcess({ env: { SNAPSHOT_INTERVAL_SECONDS: '3600' } });
});

afterAll(async () => {
  await stack?.stop();
  if (stack) await removeDataDir(stack.dataDir);
});

describe('npm run smoke', () => {
  it('passes every check against a local stack and says so in its summary', async () => {
    const { stdout } = await run('npm', ['run', '--silent', 'smoke', '--', '--url', stack.url], {
      cwd: PROJECT_ROOT,
      maxBuffer: 16 * 1024 * 1024,
    });
    const summary = /^smoke: (\d+) passed, (\d+) failed$/m.exec(stdout);
    expect(summary, stdout).not.toBeNull();
    expect(Number(summary![2]), stdout).toBe(0);
    // Every route of the table has its check (a non-zero exit would have rejected above).
    expect(Number(summary![1])).toBeGreaterThanOrEqual(routes.length);
    for (const route of routes) {
      expect(stdout, `${route.method} ${route.path}`).toContain(`PASS  ${route.method} ${route.path}`);
    }
  });
});
