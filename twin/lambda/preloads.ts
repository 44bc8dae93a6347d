/** The absolute path of resolve-localhost.mjs, for `node --import <path>` when running a twin function. */
import { fileURLToPath } from 'node:url';

export const RESOLVE_LOCALHOST_PRELOAD = fileURLToPath(new URL('./resolve-localhost.mjs', import.meta.url));
