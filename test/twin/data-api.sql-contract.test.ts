/**
 * The project's Data API adapter, unchanged, against the Data API twin: the Sql contract every adapter
 * runs (test/adapters/sql/sql.contract.ts), then what the mock-based fake cannot show: the project's
 * migrations under the service's parameter typing, and the real refusals reaching the adapter.
 * The client is `new RDSDataClient({})`, configured only by the environment, as on a Lambda.
 */
import { DatabaseResumingException, RDSDataClient } from '@aws-sdk/client-rds-data';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations } from '../../db/migrations';
import { openRdsDataSql, ResultTooLargeError } from '../../functions/adapters/sql/rds-data';
import { migrate } from '../../functions/core/migrations';
import { type DataApi, type Gate, startDataApi } from '../../twin/data-api/server';
import { describeSqlContract } from '../adapters/sql/sql.contract';
import { type PostgresServer, startPostgresServer } from '../support/postgres-server';

const TARGET = {
  resourceArn: 'arn:aws:rds:us-east-1:123456789012:cluster:interview-ops',
  secretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:interview-ops-abc123',
  database: 'interview_ops',
};

const allowAll: Gate = { authorize: async () => ({ allowed: true, principal: 'test-role' }) };

interface Stack {
  postgres: PostgresServer;
  api: DataApi;
  client: RDSDataClient;
  stop(): Promise<void>;
}

/** PostgreSQL with an interview_ops database, the twin over it, and an SDK client aimed by the environment. */
const startStack = async (): Promise<Stack> => {
  const postgres = await startPostgresServer();
  try {
    const admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${TARGET.database}`);
    await admin.end();
    const api = await startDataApi({
      databaseUrl: postgres.url.replace(/\/postgres$/, `/${TARGET.database}`),
      gate: allowAll,
      clusterArn: TARGET.resourceArn,
      secretArn: TARGET.secretArn,
      database: TARGET.database,
    });
    process.env.AWS_ENDPOINT_URL_RDS_DATA = api.url;
    process.env.AWS_REGION = 'us-east-1';
    process.env.AWS_ACCESS_KEY_ID = 'AKIDTWINTEST';
    process.env.AWS_SECRET_ACCESS_KEY = 'twin-secret';
    const client = new RDSDataClient({});
    return {
      postgres,
      api,
      client,
      async stop() {
        client.destroy();
        await api.close();
        await postgres.stop();
      },
    };
  } catch (error) {
    await postgres.stop();
    throw error;
  }
};

describeSqlContract('RDS Data API adapter over the Data API twin (PostgreSQL 15)', async () => {
  const stack = await startStack();
  return { sql: openRdsDataSql(stack.client, TARGET), stop: () => stack.stop() };
});

describe('RDS Data API adapter over the Data API twin', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack?.stop());

  it('applies the project migrations, once, through the Data API', async () => {
    const sql = openRdsDataSql(stack.client, TARGET);
    const migrations = loadMigrations();
    expect(await migrate(sql, migrations)).toEqual(migrations.map((migration) => migration.name));
    expect(await migrate(sql, migrations)).toEqual([]);
    const tables = await sql.query<{ name: string }>(
      `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
    );
    expect(tables.map((table) => table.name)).toEqual(expect.arrayContaining(['schema_migrations', 'sessions']));
  });

  it('turns the 1 MiB refusal into ResultTooLargeError', async () => {
    const sql = openRdsDataSql(stack.client, TARGET);
    await expect(sql.query(`SELECT repeat('x', 60000) AS part FROM generate_series(1, 18)`)).rejects.toBeInstanceOf(ResultTooLargeError);
    expect(await sql.query(`SELECT length(repeat('x', 60000)) AS n`)).toEqual([{ n: 60000 }]);
  });

  it('fails with DatabaseResumingException (itself or as the cause the adapter gives) while the cluster resumes', async () => {
    const sql = openRdsDataSql(stack.client, TARGET);
    /** The exception's name, whether the adapter passes it through or wraps it in a core error. */
    const resumingName = (error: unknown) => {
      const failure = error as Error & { cause?: Error };
      return failure instanceof DatabaseResumingException ? failure.name : failure.cause?.name;
    };
    stack.api.setResuming(true);
    try {
      expect(resumingName(await sql.query('SELECT 1 AS one').catch((error: unknown) => error))).toBe('DatabaseResumingException');
      expect(resumingName(await sql.transaction((tx) => tx.query('SELECT 1 AS one')).catch((error: unknown) => error))).toBe(
        'DatabaseResumingException',
      );
    } finally {
      stack.api.setResuming(false);
    }
    expect(await sql.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });

  it('counts one call per statement and three more for a transaction around one', async () => {
    const sql = openRdsDataSql(stack.client, TARGET);
    const before = stack.api.calls();
    await sql.query('SELECT 1 AS one');
    expect(stack.api.calls()).toBe(before + 1);
    await sql.transaction((tx) => tx.query('SELECT 1 AS one'));
    expect(stack.api.calls()).toBe(before + 1 + 3);
  });
});
