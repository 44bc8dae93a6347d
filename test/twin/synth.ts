/** One real `cdk synth` of this project into a fresh temporary folder (25-45 s), for the twin's tests. */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export const synthToTemp = async (): Promise<{ dir: string; remove(): Promise<void> }> => {
  const dir = await mkdtemp(join(tmpdir(), 'twin-cdk-out-'));
  await promisify(execFile)('npx', ['cdk', 'synth', '--quiet', '-o', dir], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, CDK_DISABLE_VERSION_CHECK: '1' },
    maxBuffer: 64 * 1024 * 1024,
  });
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
};
