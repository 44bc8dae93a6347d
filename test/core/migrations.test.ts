import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations } from '../../db/migrations';
import { openPgliteSql } from '../../functions/adapters/sql/pglite';
import { migrate, splitStatements } from '../../functions/core/migrations';
import type { Sql } from '../../functions/core/ports/sql';

let sql: Sql;

beforeAll(async () => {
  sql = await openPgliteSql();
});

afterAll(async () => {
  await sql.close();
});

describe('migrations', () => {
  it('loads the numbered files in order', () => {
    const migrations = loadMigrations();
    expect(migrations.map((m) => m.version)).toEqual([...migrations.map((m) => m.version)].sort((a, b) => a - b));
    expect(migrations.slice(0, 4).map((m) => m.name)).toEqual([
      '001_sessions',
      '002_audio_chunks',
      '003_code_history',
      '004_execution_results',
    ]);
  });

  it('applies every migration once, records it, and applies nothing on a second run', async () => {
    const migrations = loadMigrations();
    const first = await migrate(sql, migrations);
    expect(first).toEqual(migrations.map((m) => m.name));
    const second = await migrate(sql, migrations);
    expect(second).toEqual([]);
    const recorded = await sql.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    expect(recorded.map((row) => row.version)).toEqual(migrations.map((m) => m.version));
    const tables = await sql.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
    );
    expect(tables.map((row) => row.table_name)).toEqual(
      expect.arrayContaining(['audio_chunks', 'code_history', 'execution_results', 'schema_migrations', 'sessions']),
    );
  });

  it('rolls back a failing migration and leaves it unrecorded', async () => {
    const broken = { version: 999, name: '999_broken', sql: 'CREATE TABLE half_done (id int);\nSELECT no_such_function();' };
    await expect(migrate(sql, [broken])).rejects.toThrow();
    const [exists] = await sql.query(`SELECT to_regclass('half_done') AS name`);
    expect(exists?.name).toBeNull();
    expect(await sql.query('SELECT 1 FROM schema_migrations WHERE version = 999')).toEqual([]);
  });

  it('splits a script into statements for one-statement-per-call drivers', () => {
    expect(splitStatements('-- note\nCREATE TABLE a (x int);\n\nCREATE INDEX b ON a (x);\n')).toEqual([
      'CREATE TABLE a (x int)',
      'CREATE INDEX b ON a (x)',
    ]);
  });
});
