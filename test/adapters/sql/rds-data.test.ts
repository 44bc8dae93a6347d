/**
 * The Data API adapter: the SQL contract through a Data API played by aws-sdk-client-mock over a real
 * PostgreSQL (fake-data-api.ts), then what only the wire shows: typed parameters, the transaction calls,
 * and the mapping of the 1 MiB response limit.
 */
import {
  BadRequestException,
  BeginTransactionCommand,
  CommitTransactionCommand,
  DatabaseResumingException,
  ExecuteStatementCommand,
  RDSDataClient,
} from '@aws-sdk/client-rds-data';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRdsDataSql, RESUME_FIRST_WAIT_MS, RESUME_MARGIN_MS, ResultTooLargeError } from '../../../functions/adapters/sql/rds-data';
import { type FakeDataApi, startFakeDataApi } from './data-api/fake-data-api';
import { describeSqlContract } from './sql.contract';

describeSqlContract('RDS Data API (aws-sdk-client-mock over PGlite)', async () => {
  const api = await startFakeDataApi();
  return { sql: api.sql, stop: () => api.stop() };
});

describe('RDS Data API requests', () => {
  let api: FakeDataApi;
  beforeAll(async () => {
    api = await startFakeDataApi();
  });
  afterAll(() => api.stop());

  it('sends named, typed parameters, only those the statement uses, and asks for column metadata', async () => {
    const sql = api.sql;
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
    const sql = api.sql;
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
    const sql = api.sql;
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

describe('RDS Data API while Aurora resumes from 0 ACU', () => {
  const target = { resourceArn: 'arn:cluster', secretArn: 'arn:secret', database: 'db' };
  const resuming = () =>
    new DatabaseResumingException({ message: 'The Aurora DB instance is resuming after being auto-paused', $metadata: {} });
  const answer = { records: [[{ longValue: 1 }]], columnMetadata: [{ label: 'one', typeName: 'int4' }] };

  const mockRds = () => mockClient(RDSDataClient);
  const withMock = async (work: (rds: ReturnType<typeof mockRds>) => Promise<void>) => {
    const rds = mockRds();
    try {
      await work(rds);
    } finally {
      rds.restore();
    }
  };

  it('waits and asks again, with growing waits, until the cluster answers', async () => {
    await withMock(async (rds) => {
      rds.on(ExecuteStatementCommand).rejectsOnce(resuming()).rejectsOnce(resuming()).rejectsOnce(resuming()).resolves(answer);
      const waits: number[] = [];
      const sql = openRdsDataSql(new RDSDataClient({ region: 'us-east-1' }), target, {
        timeLeftMs: () => 25_000,
        sleep: async (ms) => void waits.push(ms),
      });
      expect(await sql.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
      expect(rds.commandCalls(ExecuteStatementCommand)).toHaveLength(4);
      expect(waits).toEqual([RESUME_FIRST_WAIT_MS, RESUME_FIRST_WAIT_MS * 2, RESUME_FIRST_WAIT_MS * 4]);
    });
  });

  it('waits for BeginTransaction too, then runs the transaction', async () => {
    await withMock(async (rds) => {
      rds.on(BeginTransactionCommand).rejectsOnce(resuming()).resolves({ transactionId: 'tx-1' });
      rds.on(ExecuteStatementCommand).resolves(answer);
      rds.on(CommitTransactionCommand).resolves({ transactionStatus: 'Transaction Committed' });
      const sql = openRdsDataSql(new RDSDataClient({ region: 'us-east-1' }), target, { timeLeftMs: () => 25_000, sleep: async () => {} });
      expect(await sql.transaction((tx) => tx.query('SELECT 1 AS one'))).toEqual([{ one: 1 }]);
      expect(rds.commandCalls(BeginTransactionCommand)).toHaveLength(2);
    });
  });

  it('gives up with a 503-class error when the invocation has no time left for another wait', async () => {
    await withMock(async (rds) => {
      rds.on(ExecuteStatementCommand).rejects(resuming());
      let left = 25_000;
      const sql = openRdsDataSql(new RDSDataClient({ region: 'us-east-1' }), target, {
        timeLeftMs: () => left,
        sleep: async (ms) => {
          left -= ms;
        },
      });
      const failure = await sql.query('SELECT 1 AS one').catch((error: unknown) => error);
      expect(failure).toMatchObject({ kind: 'dependency_unavailable' });
      // Every wait it took still left the margin to answer within the deadline.
      expect(left).toBeGreaterThanOrEqual(RESUME_MARGIN_MS);
      expect(rds.commandCalls(ExecuteStatementCommand).length).toBeGreaterThan(3);
    });
  });

  it('does not retry other failures', async () => {
    await withMock(async (rds) => {
      rds.on(ExecuteStatementCommand).rejects(new BadRequestException({ message: 'syntax error', $metadata: {} }));
      const sql = openRdsDataSql(new RDSDataClient({ region: 'us-east-1' }), target, { timeLeftMs: () => 25_000, sleep: async () => {} });
      await expect(sql.query('SELEC 1')).rejects.toThrow('syntax error');
      expect(rds.commandCalls(ExecuteStatementCommand)).toHaveLength(1);
    });
  });
});
