/** One `cdk synth` for every twin test file of a run, instead of one per file. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { synthInto } from './synth';

export default async function setup(project: TestProject) {
  const dir = await mkdtemp(join(tmpdir(), 'twin-cdk-out-'));
  await synthInto(dir);
  project.provide('twinCdkOut', dir);
  return () => rm(dir, { recursive: true, force: true });
}
