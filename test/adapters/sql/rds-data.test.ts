/**
 * The Data API adapter: the SQL contract through a Data API played by aws-sdk-client-mock over a real
 * PostgreSQL (fake-data-api.ts), then what only the wire shows: typed parameters, the transaction calls,
 * and the mapping of the 1 MiB response limit.
 */
import { ExecuteStatementCommand, RDSDataClient } from '@aws-sdk/client-rds-data';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRdsDataSql, ResultTooLargeError } from '../../../functions/adapters/sql/rds-data';
import { type FakeDataApi, startFakeDataApi } from './data-api/fake-data-api';
import { describeSqlContract } from './sql.contract';

describeSqlContract('RDS Data API (aws-sdk-client-mock over PGlite)', async () => {
  const api = await startFakeDataApi();
  return { sql: openRdsDataSql(api.client, api.target), stop: () => api.stop() };
});

describe('RDS Data API requests', () => {
  let api: FakeDataApi;
  beforeAll(async () => {
    api = await startFakeDataApi();
  });
  afterAll(() => api.stop());

  it('sends named, typed parameters, only those the statement uses, and asks for column metadata', async () => {
    const sql = openRdsDataSql(api.client, api.target);
    await sql.query(
      'SELECT CAST(:s AS text) AS s, CAST(:i AS bigint) AS i, CAST(:f AS float8) AS f, CAST(:b AS boolean) AS b, CAST(:n AS text) AS n',
      {
        s: 'text',
        i: 7,
        f: 2.5,
        b: true,
        n: null,
        unused: 'left out',
      },
    );
    const input = api.statements.at(-1)!;
    expect(input).toMatchObject({ ...api.target, includeResultMetadata: true });
    expect(input.transactionId).toBeUndefined();
    expect(input.parameters).toEqual([
      { name: 's', value: { stringValue: 'text' } },
      { name: 'i', value: { longValue: 7 } },
      { name: 'f', value: { doubleValue: 2.5 } },
      { name: 'b', value: { booleanValue: true } },
      { name: 'n', value: { isNull: true } },
    ]);
  });

  it('runs a transaction as BeginTransaction, statements with its id, then CommitTransaction', async () => {
    const sql = openRdsDataSql(api.client, api.target);
    const before = api.calls();
    const sent = api.statements.length;
    await sql.transaction((tx) => tx.query('SELECT 1 AS one'), { isolation: 'repeatable read', readOnly: true });
    const after = api.calls();
    expect(after.BeginTransaction - before.BeginTransaction).toBe(1);
    expect(after.CommitTransaction - before.CommitTransaction).toBe(1);
    expect(after.RollbackTransaction - before.RollbackTransaction).toBe(0);
    const statements = api.statements.slice(sent);
    expect(statements.map((statement) => statement.sql)).toEqual([
      'SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY',
      'SELECT 1 AS one',
    ]);
    expect(new Set(statements.map((statement) => statement.transactionId)).size).toBe(1);
    expect(statements[0]!.transactionId).toEqual(expect.any(String));
  });

  it('calls RollbackTransaction, not CommitTransaction, when the work fails', async () => {
    const sql = openRdsDataSql(api.client, api.target);
    const before = api.calls();
    await expect(sql.transaction(async () => Promise.reject(new Error('nope')))).rejects.toThrow('nope');
    const after = api.calls();
    expect(after.RollbackTransaction - before.RollbackTransaction).toBe(1);
    expect(after.CommitTransaction - before.CommitTransaction).toBe(0);
  });
});

describe('RDS Data API response limit', () => {
  it('names the 1 MiB limit when the Data API refuses a result', async () => {
    const rds = mockClient(RDSDataClient);
    try {
      rds.on(ExecuteStatementCommand).rejects(new Error('Database returned more than the allowed response size limit'));
      const sql = openRdsDataSql(new RDSDataClient({ region: 'us-east-1' }), { resourceArn: 'arn', secretArn: 'arn', database: 'db' });
      await expect(sql.query('SELECT * FROM snapshots_source')).rejects.toBeInstanceOf(ResultTooLargeError);
    } finally {
      rds.restore();
    }
  });
});
