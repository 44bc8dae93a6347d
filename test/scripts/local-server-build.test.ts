/**
 * The build `npm start` runs before serving: a bundle of bin/local.ts with the migrations beside it,
 * published whole even when test files build at the same moment.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadMigrations } from '../../db/migrations';
import { buildLocalServer, LOCAL_SERVER_DIR, LOCAL_SERVER_ENTRY } from '../../scripts/local-server-build';

describe('buildLocalServer', () => {
  it('bundles the local stack with the migrations beside it, leaving no partial files when builds overlap', async () => {
    const entries = await Promise.all([buildLocalServer(), buildLocalServer(), buildLocalServer()]);
    expect(new Set(entries)).toEqual(new Set([LOCAL_SERVER_ENTRY]));

    const code = await readFile(LOCAL_SERVER_ENTRY, 'utf8');
    // Our own modules are inside; dependencies are imported from node_modules at run time.
    expect(code).toContain('// functions/local/gateway.ts');
    expect(code).toMatch(/from "@electric-sql\/pglite"/);
    expect(code).toMatch(/\/\/# sourceMappingURL=server\.mjs\.map\s*$/);
    expect(JSON.parse(await readFile(`${LOCAL_SERVER_ENTRY}.map`, 'utf8')).sources.length).toBeGreaterThan(10);

    expect(loadMigrations(join(LOCAL_SERVER_DIR, 'migrations'))).toEqual(loadMigrations());
    const leftovers = [...(await readdir(LOCAL_SERVER_DIR)), ...(await readdir(join(LOCAL_SERVER_DIR, 'migrations')))].filter((name) =>
      name.startsWith('.'),
    );
    expect(leftovers).toEqual([]);
  });
});
