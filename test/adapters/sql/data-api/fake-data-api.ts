/**
 * The RDS Data API played over aws-sdk-client-mock, with a real PostgreSQL (PGlite) executing the SQL,
 * so the SQL contract runs real statements through the Data API adapter. Responses take the documented
 * typed shape: `records` of Field unions and `columnMetadata` with PostgreSQL type names, numbers in
 * longValue/doubleValue, and numeric, timestamp and json values as strings (timestamps in UTC, without
 * offset, as the Data API formats them). One connection, so one transaction at a time, as in PGlite.
 * It refuses what the service refuses: a record over 64 KB and a response over 1 MiB, both measured on
 * the JSON the service sends, where text is escaped once more (the stricter reading of "64 KB per row").
 */
import { randomUUID } from 'node:crypto';
import {
  BadRequestException,
  BeginTransactionCommand,
  type ColumnMetadata,
  CommitTransactionCommand,
  ExecuteStatementCommand,
  type ExecuteStatementCommandInput,
  type Field,
  RDSDataClient,
  RollbackTransactionCommand,
  type SqlParameter,
} from '@aws-sdk/client-rds-data';
import { PGlite } from '@electric-sql/pglite';
import { mockClient } from 'aws-sdk-client-mock';
import { toPositional } from '../../../../functions/adapters/sql/named-parameters';
import { openRdsDataSql } from '../../../../functions/adapters/sql/rds-data';
import type { Sql, SqlParam } from '../../../../functions/core/ports/sql';

/** PostgreSQL type OIDs to the type names the Data API reports in columnMetadata.typeName. */
const TYPE_NAMES: Record<number, string> = {
  16: 'bool',
  20: 'int8',
  21: 'int2',
  23: 'int4',
  25: 'text',
  114: 'json',
  700: 'float4',
  701: 'float8',
  1043: 'varchar',
  1082: 'date',
  1114: 'timestamp',
  1184: 'timestamptz',
  1700: 'numeric',
  2950: 'uuid',
  3802: 'jsonb',
};
const INTEGER_TYPES = new Set([20, 21, 23]);
const FLOAT_TYPES = new Set([700, 701]);
const TIMESTAMP_TYPES = new Set([1114, 1184]);
/** Values the Data API hands over as text: the database's own text form, unparsed. */
const AS_TEXT = Object.fromEntries([20, 114, 1700, 1114, 1184, 3802].map((oid) => [oid, (text: string) => text]));

/** The Data API's documented limits: a row of the result, and the whole response. */
export const DATA_API_RECORD_LIMIT_BYTES = 64 * 1024;
export const DATA_API_RESPONSE_LIMIT_BYTES = 1024 * 1024;
export const RESPONSE_TOO_LARGE_MESSAGE = 'Database returned more than the allowed response size limit';
export const RECORD_TOO_LARGE_MESSAGE = 'Database returned a record larger than the allowed 64 KB record size limit';

const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

export interface FakeDataApi {
  client: RDSDataClient;
  target: { resourceArn: string; secretArn: string; database: string };
  /** The service's Sql adapter over this fake, opened as the functions open it. */
  sql: Sql;
  /** Every ExecuteStatement input, in order. */
  statements: ExecuteStatementCommandInput[];
  /** The PostgreSQL behind it, for tests that set up or check data without the Data API's limits. */
  database: PGlite;
  /** Calls per operation name. */
  calls: () => Record<'ExecuteStatement' | 'BeginTransaction' | 'CommitTransaction' | 'RollbackTransaction', number>;
  stop(): Promise<void>;
}

export const startFakeDataApi = async (): Promise<FakeDataApi> => {
  const db = await PGlite.create({ parsers: AS_TEXT });
  await db.exec(`SET TIME ZONE 'UTC'`);
  const mock = mockClient(RDSDataClient);
  const statements: ExecuteStatementCommandInput[] = [];
  let openTransaction: { id: string; done: () => void } | undefined;
  let queue = Promise.resolve();

  /** Waits for any open transaction to end, then holds the connection until `release` is called. */
  const acquire = () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const turn = queue.then(() => release);
    queue = queue.then(() => held);
    return turn;
  };

  const run = async (input: ExecuteStatementCommandInput) => {
    const values = Object.fromEntries((input.parameters ?? []).map((parameter) => [parameter.name!, paramValue(parameter)]));
    const { text, values: positional } = toPositional(input.sql!, values);
    let response: { records: Field[][]; columnMetadata?: ColumnMetadata[]; numberOfRecordsUpdated: number };
    try {
      const result = await db.query<Record<string, unknown>>(text, positional, { rowMode: 'object' });
      const fields = result.fields;
      if (fields.length === 0) return { numberOfRecordsUpdated: result.affectedRows ?? 0 };
      response = {
        records: result.rows.map((row) => fields.map((field) => toField(row[field.name], field.dataTypeID))),
        ...(input.includeResultMetadata ? { columnMetadata: fields.map((field) => columnOf(field.name, field.dataTypeID)) } : {}),
        numberOfRecordsUpdated: 0,
      };
    } catch (error) {
      throw new BadRequestException({ message: `ERROR: ${(error as Error).message}`, $metadata: { httpStatusCode: 400 } });
    }
    // Measured on the answer the service would send, after the statement ran.
    if (response.records.some((record) => jsonBytes(record) > DATA_API_RECORD_LIMIT_BYTES)) {
      throw new BadRequestException({ message: RECORD_TOO_LARGE_MESSAGE, $metadata: { httpStatusCode: 400 } });
    }
    if (jsonBytes(response) > DATA_API_RESPONSE_LIMIT_BYTES) {
      throw new BadRequestException({ message: RESPONSE_TOO_LARGE_MESSAGE, $metadata: { httpStatusCode: 400 } });
    }
    return response;
  };

  mock.on(ExecuteStatementCommand).callsFake(async (input: ExecuteStatementCommandInput) => {
    statements.push(input);
    if (input.transactionId) {
      if (openTransaction?.id !== input.transactionId)
        throw new BadRequestException({ message: 'Transaction is not found', $metadata: {} });
      return run(input);
    }
    const release = await acquire();
    try {
      return await run(input);
    } finally {
      release();
    }
  });
  mock.on(BeginTransactionCommand).callsFake(async () => {
    const release = await acquire();
    await db.exec('BEGIN');
    openTransaction = { id: randomUUID(), done: release };
    return { transactionId: openTransaction.id };
  });
  const end = (command: 'COMMIT' | 'ROLLBACK', status: string) => async (input: { transactionId?: string }) => {
    if (!openTransaction || openTransaction.id !== input.transactionId)
      throw new BadRequestException({ message: 'Transaction is not found', $metadata: {} });
    const { done } = openTransaction;
    openTransaction = undefined;
    try {
      await db.exec(command);
    } finally {
      done();
    }
    return { transactionStatus: status };
  };
  mock.on(CommitTransactionCommand).callsFake(end('COMMIT', 'Transaction Committed'));
  mock.on(RollbackTransactionCommand).callsFake(end('ROLLBACK', 'Rollback Complete'));

  const client = new RDSDataClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const target = {
    resourceArn: 'arn:aws:rds:us-east-1:123456789012:cluster:interview-ops',
    secretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:interview-ops-abc123',
    database: 'interview_ops',
  };
  return {
    client,
    target,
    sql: openRdsDataSql(client, target),
    statements,
    database: db,
    calls: () => ({
      ExecuteStatement: mock.commandCalls(ExecuteStatementCommand).length,
      BeginTransaction: mock.commandCalls(BeginTransactionCommand).length,
      CommitTransaction: mock.commandCalls(CommitTransactionCommand).length,
      RollbackTransaction: mock.commandCalls(RollbackTransactionCommand).length,
    }),
    async stop() {
      mock.restore();
      client.destroy();
      await db.close();
    },
  };
};

const paramValue = (parameter: SqlParameter): SqlParam => {
  const value = parameter.value;
  if (!value || value.isNull) return null;
  if (value.booleanValue !== undefined) return value.booleanValue;
  if (value.longValue !== undefined) return value.longValue;
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.stringValue !== undefined) return value.stringValue;
  throw new BadRequestException({ message: `unsupported parameter type for ${parameter.name}`, $metadata: {} });
};

const toField = (value: unknown, oid: number): Field => {
  if (value === null || value === undefined) return { isNull: true };
  if (typeof value === 'boolean') return { booleanValue: value };
  if (INTEGER_TYPES.has(oid)) return { longValue: Number(value) };
  if (FLOAT_TYPES.has(oid)) return { doubleValue: Number(value) };
  // '2024-03-01 10:34:56.789+00' → '2024-03-01 10:34:56.789': the Data API drops the (UTC) offset.
  if (TIMESTAMP_TYPES.has(oid)) return { stringValue: String(value).replace(/[+-]00(?::00)?$/, '') };
  return { stringValue: typeof value === 'string' ? value : JSON.stringify(value) };
};

const columnOf = (name: string, oid: number): ColumnMetadata => ({
  name,
  label: name,
  typeName: TYPE_NAMES[oid] ?? 'text',
  nullable: 1,
});
