/**
 * `npm run smoke -- --url URL --sign` against the twin: every route of what `cdk deploy` ships answers
 * a SigV4-signed client, with the caller's keys the twin prints.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routes } from '../../functions/routes';
import { PROJECT_ROOT } from '../../lib/project-root';
import { startTwinTarget, type TwinTarget } from '../support/twin-target';

const run = promisify(execFile);

let target: TwinTarget;

beforeAll(async () => {
  target = await startTwinTarget();
}, 300_000);

afterAll(() => target?.stop());

describe('npm run smoke --sign against the twin', () => {
  it('passes every check, signed with the caller keys the twin prints', async () => {
    const { accessKeyId, secretAccessKey } = target.twin.credentials;
    const { stdout } = await run('npm', ['run', '--silent', 'smoke', '--', '--url', target.url, '--sign'], {
      cwd: PROJECT_ROOT,
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: accessKeyId,
        AWS_SECRET_ACCESS_KEY: secretAccessKey,
        AWS_SESSION_TOKEN: '',
        AWS_PROFILE: '',
      },
      maxBuffer: 16 * 1024 * 1024,
    });
    const summary = /^smoke: (\d+) passed, (\d+) failed$/m.exec(stdout);
    expect(summary, stdout).not.toBeNull();
    expect(Number(summary![2]), stdout).toBe(0);
    for (const route of routes) expect(stdout, `${route.method} ${route.path}`).toContain(`PASS  ${route.method} ${route.path}`);
  }, 180_000);

  it('refuses an unsigned call to an IAM route as API Gateway does', async () => {
    const response = await fetch(`${target.url}/sandbox_snapshots`);
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({ message: 'Forbidden' });
  });
});
