import type { Sql } from './ports/sql';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Arbitrary but fixed: serializes concurrent starts (two Lambdas, a deploy trigger) on the same database. */
export const MIGRATION_LOCK_KEY = 7_310_421;

/** The ledger of applied migrations. */
export const MIGRATIONS_TABLE = 'schema_migrations';

/**
 * Applies the migrations not yet recorded, in version order, each in its own transaction, and
 * returns the names it applied. Safe to run at every start.
 */
export const migrate = async (sql: Sql, migrations: readonly Migration[]): Promise<string[]> => {
  await sql.query(`CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`);
  const applied: string[] = [];
  for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
    const didApply = await sql.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(:key)', { key: MIGRATION_LOCK_KEY });
      const done = await tx.query(`SELECT 1 FROM ${MIGRATIONS_TABLE} WHERE version = :version`, { version: migration.version });
      if (done.length > 0) return false;
      for (const statement of splitStatements(migration.sql)) await tx.query(statement);
      await tx.query(`INSERT INTO ${MIGRATIONS_TABLE} (version, name) VALUES (:version, :name)`, {
        version: migration.version,
        name: migration.name,
      });
      return true;
    });
    if (didApply) applied.push(migration.name);
  }
  return applied;
};

/**
 * Splits a migration file on statement-ending semicolons. The RDS Data API runs one statement per
 * call, so files are kept to plain DDL: no semicolons inside strings or function bodies.
 */
export const splitStatements = (script: string): string[] =>
  script
    .split(/;\s*(?:\r?\n|$)/)
    .map((statement) => statement.replace(/^\s*--.*$/gm, '').trim())
    .filter((statement) => statement.length > 0);
