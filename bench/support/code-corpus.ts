/**
 * Row content that compresses as an interview platform's does: code_history entries cut from real
 * source files (this repository's own TypeScript, 15 to 60 lines each) and execution outputs in the
 * shape test runners print, rather than one repeated template that gzip would shrink to nothing.
 * Stored in a table `bench_corpus` that seeds and writers pick from by row number.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Sql } from '../../functions/core/ports/sql';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');

const sourceFiles = async (dir: string): Promise<string[]> => {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((entry) =>
      entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : Promise.resolve(entry.name.endsWith('.ts') ? [join(dir, entry.name)] : []),
    ),
  );
  return nested.flat().sort();
};

/** A deterministic generator, so every run seeds the same content. */
const random = (seed: number) => () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
  return seed / 2 ** 31;
};

/** What a test runner prints for a snippet: a line per test named after the snippet's identifiers. */
const outputFor = (snippet: string, next: () => number): string => {
  const names = [...new Set(snippet.match(/[a-z][A-Za-z0-9]{3,}/g) ?? ['solve'])].slice(0, 4 + Math.floor(next() * 8));
  const lines = names.map((name, index) => {
    const failed = next() < 0.15;
    return `test_${name}_${index} ${failed ? 'FAILED' : 'PASSED'} [${Math.round(((index + 1) / names.length) * 100)}%] (${(next() * 90).toFixed(2)} ms)`;
  });
  const failed = lines.filter((line) => line.includes('FAILED')).length;
  return `${lines.join('\n')}\n${names.length - failed} passed, ${failed} failed in ${(next() * 2).toFixed(3)}s\n`;
};

/** Fills bench_corpus(id, code, output) with `count` entries (ids 1..count); returns the count. */
export const loadCodeCorpus = async (sql: Sql, count = 2000): Promise<number> => {
  const files = await sourceFiles(join(ROOT, 'functions'));
  const lines = (await Promise.all(files.map((file) => readFile(file, 'utf8')))).join('\n').split('\n');
  const next = random(16);
  const entries: { code: string; output: string }[] = [];
  for (let index = 0; index < count; index += 1) {
    const length = 15 + Math.floor(next() * 46);
    const start = Math.floor(next() * Math.max(1, lines.length - length));
    const code = lines.slice(start, start + length).join('\n');
    entries.push({ code, output: outputFor(code, next) });
  }
  await sql.query('DROP TABLE IF EXISTS bench_corpus');
  await sql.query('CREATE TABLE bench_corpus (id int PRIMARY KEY, code text NOT NULL, output text NOT NULL)');
  await sql.query(
    `INSERT INTO bench_corpus (id, code, output)
     SELECT ordinality, value ->> 'code', value ->> 'output' FROM jsonb_array_elements(CAST(:entries AS jsonb)) WITH ORDINALITY`,
    { entries: JSON.stringify(entries) },
  );
  return count;
};
