/**
 * The project's zod: the tree-shakable `zod/mini` API with English messages. The classic `zod` import
 * cannot be tree-shaken and would put all of zod into every Lambda bundle.
 * Import it as a namespace, `import * as z from '../validation'`, never from 'zod' directly: a namespace
 * used only through `z.name` lets esbuild drop every part a bundle does not call.
 */
import { en } from 'zod/locales';
import { config } from 'zod/mini';

config(en());

export * from 'zod/mini';
