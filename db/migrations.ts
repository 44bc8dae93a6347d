/** Loads the numbered SQL files beside this module, in order. */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Migration } from '../functions/core/migrations';

export const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

export const loadMigrations = (directory = MIGRATIONS_DIR): Migration[] =>
  readdirSync(directory)
    .filter((name) => /^\d{3}_[a-z0-9_]+\.sql$/.test(name))
    .sort()
    .map((name) => ({
      version: Number(name.slice(0, 3)),
      name: name.slice(0, -'.sql'.length),
      sql: readFileSync(join(directory, name), 'utf8'),
    }));
