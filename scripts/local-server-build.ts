/**
 * `npm start` runs the local stack bundled by esbuild, as the Lambda functions are, so a bundling
 * mistake shows up locally first. Dependencies stay in node_modules. Every step writes beside its
 * target and renames, so a stack starting during a build (test files build two at a time) never reads
 * half a file.
 */

import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, readdir, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { build } from 'esbuild';
import { MIGRATIONS_DIR } from '../db/migrations';
import { PROJECT_ROOT } from '../lib/project-root';

/** Kept out of git (.gitignore): rebuilt at every start. */
export const LOCAL_SERVER_DIR = join(PROJECT_ROOT, '.build', 'local');
export const LOCAL_SERVER_ENTRY = join(LOCAL_SERVER_DIR, 'server.mjs');
/** Node options the built server runs with: stack traces point into the TypeScript sources. */
export const LOCAL_SERVER_NODE_OPTIONS = ['--enable-source-maps'];

const publish = async (target: string, write: (temporary: string) => Promise<void>) => {
  const temporary = join(dirname(target), `.${basename(target)}.${randomUUID()}`);
  await write(temporary);
  await rename(temporary, target);
};

/** Builds bin/local.ts into LOCAL_SERVER_ENTRY, with db/migrations beside it (db/migrations.ts reads them from there). */
export const buildLocalServer = async (): Promise<string> => {
  const result = await build({
    entryPoints: [join(PROJECT_ROOT, 'bin', 'local.ts')],
    outfile: LOCAL_SERVER_ENTRY,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    write: false,
    logLevel: 'silent',
  });
  const migrations = join(LOCAL_SERVER_DIR, 'migrations');
  await mkdir(migrations, { recursive: true });
  for (const name of await readdir(MIGRATIONS_DIR)) {
    await publish(join(migrations, name), (temporary) => copyFile(join(MIGRATIONS_DIR, name), temporary));
  }
  // The source map before the code that names it.
  const outputs = [...result.outputFiles].sort((a, b) => Number(b.path.endsWith('.map')) - Number(a.path.endsWith('.map')));
  for (const output of outputs) await publish(output.path, (temporary) => writeFile(temporary, output.contents));
  return LOCAL_SERVER_ENTRY;
};

// Run by scripts/start.sh: builds, then prints the arguments to run the built server with, one a line,
// so the shell script does not repeat the entry's path or its Node options.
if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  process.stdout.write(`${[...LOCAL_SERVER_NODE_OPTIONS, await buildLocalServer()].join('\n')}\n`);
}
