/**
 * The deploy-time migration handler, run as the Trigger runs it, on a fresh database: it applies every
 * file of db/migrations, reports them, and applies nothing the second time.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations } from '../../db/migrations';
import { dependencies } from '../../functions/config';
import { handler as migrateHandler } from '../../functions/handlers/migrate-database';
import { localLambdaContext } from '../../functions/local/lambda-context';

const handler = () => migrateHandler({}, localLambdaContext('migrate-database', 300_000));

describe('migrate-database handler', () => {
  let dataDir: string;
  const saved = { ...process.env };

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'migrate-handler-'));
    // As on Lambda: nothing migrates while dependencies are built, only the handler does.
    Object.assign(process.env, { DATA_DIR: dataDir, RUN_MIGRATIONS_AT_START: 'false', TRANSCRIBER: 'aws-transcribe', LOG_LEVEL: 'SILENT' });
  });

  afterAll(async () => {
    await (await dependencies()).sql.close();
    process.env = saved;
    await rm(dataDir, { recursive: true, force: true });
  });

  it('applies every migration once, then none', async () => {
    const expected = loadMigrations().map((migration) => migration.name);
    expect(expected.length).toBeGreaterThan(0);
    expect(await handler()).toEqual({ applied: expected, logins: [] });
    expect(await handler()).toEqual({ applied: [], logins: [] });
    const { sql } = await dependencies();
    const recorded = await sql.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY version');
    expect(recorded.map((row) => row.name)).toEqual(expected);
    const [sessions] = await sql.query<{ table: string | null }>(`SELECT to_regclass('public.sessions')::text AS table`);
    expect(sessions!.table).toBe('sessions');
  });
});
