/** The real `cdk synth` of this project that the twin's tests run against (25-45 s each). */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { inject } from 'vitest';
import { PROJECT_ROOT } from '../../lib/project-root';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The cloud assembly test/twin/global-setup.ts synthesized once for the whole run. */
    twinCdkOut?: string;
  }
}

/** `context`: settings as `cdk synth -c name=value` takes them. */
export const synthInto = async (dir: string, context: Record<string, string> = {}) => {
  const settings = Object.entries(context).flatMap(([name, value]) => ['-c', `${name}=${value}`]);
  await promisify(execFile)('npx', ['cdk', 'synth', '--quiet', ...settings, '-o', dir], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, CDK_DISABLE_VERSION_CHECK: '1' },
    maxBuffer: 64 * 1024 * 1024,
  });
};

/** The run's shared synth when there is one (read-only: copy what you change), else a fresh one of this file's own. */
export const synthToTemp = async (): Promise<{ dir: string; remove(): Promise<void> }> => {
  const shared = inject('twinCdkOut');
  if (shared) return { dir: shared, remove: async () => {} };
  const dir = await mkdtemp(join(tmpdir(), 'twin-cdk-out-'));
  await synthInto(dir);
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
};
