import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout's top folder, which the stack, the local build, the benchmarks and tests resolve their files from. */
export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
