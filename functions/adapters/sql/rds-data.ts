/**
 * The SQL port over the RDS Data API (Aurora PostgreSQL): HTTPS calls instead of a connection, so a
 * Lambda needs no VPC and holds no pool. Rows come as typed records, not `formatRecordsAs: 'JSON'`,
 * whose blank column metadata cannot tell int8 from int4, timestamptz or jsonb from text. The SDK reads
 * longValue as a JS number, so int8 past 2^53 loses precision (identity ids never get there).
 */
import {
  BeginTransactionCommand,
  type ColumnMetadata,
  CommitTransactionCommand,
  ExecuteStatementCommand,
  type Field,
  type RDSDataClient,
  RollbackTransactionCommand,
  type SqlParameter,
} from '@aws-sdk/client-rds-data';
import type { Sql, SqlParams, SqlRow, SqlRunner, TransactionOptions } from '../../core/ports/sql';
import { translateAwsFailure } from '../aws-failures';
import { parameterNames } from './named-parameters';
import { pgTimestampToIso, transactionPreamble } from './postgres-dialect';

export interface RdsDataTarget {
  resourceArn: string;
  secretArn: string;
  database: string;
}

/**
 * The Data API refuses a result over 1 MiB (and a row over 64 KB). Callers that read many rows page
 * with LIMIT and a key (as functions/core/snapshots does); this names the failure when one does not.
 */
export class ResultTooLargeError extends Error {
  constructor() {
    super('the query result exceeds the RDS Data API 1 MiB response limit: page the query with LIMIT and a key');
    this.name = 'ResultTooLargeError';
  }
}

/**
 * An Aurora Serverless v2 cluster paused at 0 ACU answers DatabaseResumingException until it has woken
 * (about 15 s, longer after a day asleep). The adapter waits and asks again, doubling the wait from
 * RESUME_FIRST_WAIT_MS to RESUME_MAX_WAIT_MS, while the invocation has time for the wait plus
 * RESUME_MARGIN_MS to do its work and answer; then it gives up with the 503 every outage gets.
 */
export const RESUME_FIRST_WAIT_MS = 500;
export const RESUME_MAX_WAIT_MS = 4000;
export const RESUME_MARGIN_MS = 3000;
/** How long to keep asking when no invocation deadline is known (outside a Lambda handler). */
export const RESUME_BUDGET_WITHOUT_DEADLINE_MS = 25_000;

export interface ResumeOptions {
  /** Milliseconds the invocation has left; undefined when unknown. */
  timeLeftMs?: () => number | undefined;
  sleep?: (ms: number) => Promise<void>;
}

const isResuming = (error: unknown) => (error as Error | null)?.name === 'DatabaseResumingException';

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Sends a call that may meet a waking cluster, retrying it while the cluster resumes and time allows. */
const whileResuming = async <T>(send: () => Promise<T>, options: ResumeOptions): Promise<T> => {
  const started = Date.now();
  const sleep = options.sleep ?? defaultSleep;
  for (let wait = RESUME_FIRST_WAIT_MS; ; wait = Math.min(wait * 2, RESUME_MAX_WAIT_MS)) {
    try {
      return await send();
    } catch (error) {
      if (!isResuming(error)) throw error;
      const left = options.timeLeftMs?.() ?? RESUME_BUDGET_WITHOUT_DEADLINE_MS - (Date.now() - started);
      if (left < wait + RESUME_MARGIN_MS) throw error;
      await sleep(wait);
    }
  }
};

export const openRdsDataSql = (client: RDSDataClient, target: RdsDataTarget, resume: ResumeOptions = {}): Sql => {
  const runner = (transactionId?: string): SqlRunner => ({
    query: <Row extends SqlRow>(sql: string, params?: SqlParams) => execute<Row>(client, target, sql, params, transactionId, resume),
  });
  return {
    ...runner(),
    async transaction<T>(work: (tx: SqlRunner) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
      const { transactionId } = await whileResuming(() => client.send(new BeginTransactionCommand(target)), resume).catch(
        translateAwsFailure,
      );
      if (!transactionId) throw new Error('the RDS Data API returned no transaction id');
      const tx = runner(transactionId);
      try {
        const preamble = transactionPreamble(options);
        if (preamble) await tx.query(preamble);
        const result = await work(tx);
        await client.send(new CommitTransactionCommand({ resourceArn: target.resourceArn, secretArn: target.secretArn, transactionId }));
        return result;
      } catch (error) {
        // The original failure matters more; an unrolled transaction expires on its own after 3 minutes.
        await client
          .send(new RollbackTransactionCommand({ resourceArn: target.resourceArn, secretArn: target.secretArn, transactionId }))
          .catch(() => undefined);
        return translateAwsFailure(error);
      }
    },
    // Nothing to release: every call is its own HTTPS request.
    close: async () => undefined,
  };
};

const execute = async <Row extends SqlRow>(
  client: RDSDataClient,
  target: RdsDataTarget,
  sql: string,
  params: SqlParams = {},
  transactionId: string | undefined,
  resume: ResumeOptions,
): Promise<Row[]> => {
  const command = new ExecuteStatementCommand({
    ...target,
    sql,
    parameters: toSqlParameters(sql, params),
    // Typed records: the only shape that says which column is int8, timestamptz or jsonb.
    includeResultMetadata: true,
    formatRecordsAs: 'NONE',
    ...(transactionId ? { transactionId } : {}),
  });
  try {
    // Inside a transaction the cluster is awake: BeginTransaction already waited for it.
    const response = await (transactionId ? client.send(command) : whileResuming(() => client.send(command), resume));
    return readRows<Row>(response);
  } catch (error) {
    if (isResponseTooLarge(error)) throw new ResultTooLargeError();
    return translateAwsFailure(error);
  }
};

/**
 * Typed parameters for the names the statement uses. The Data API rejects values it has no placeholder
 * for, and a missing value fails here with the same message the driver adapters give.
 */
export const toSqlParameters = (sql: string, params: SqlParams): SqlParameter[] => {
  return parameterNames(sql).map((name) => {
    if (!Object.hasOwn(params, name)) throw new Error(`missing SQL parameter :${name}`);
    const value = params[name];
    if (value === null || value === undefined) return { name, value: { isNull: true } };
    if (typeof value === 'boolean') return { name, value: { booleanValue: value } };
    if (typeof value === 'number') {
      return Number.isInteger(value) ? { name, value: { longValue: value } } : { name, value: { doubleValue: value } };
    }
    return { name, value: { stringValue: value } };
  });
};

interface ExecuteResponse {
  records?: Field[][];
  columnMetadata?: ColumnMetadata[];
}

/** Rows as the port promises them, named by column label and normalized by the column's type. */
export const readRows = <Row extends SqlRow>(response: ExecuteResponse): Row[] => {
  const columns = response.columnMetadata ?? [];
  return (response.records ?? []).map((record) => {
    const row: SqlRow = {};
    record.forEach((field, index) => {
      const column = columns[index];
      row[column?.label || column?.name || `column${index + 1}`] = fieldValue(field, column?.typeName?.toLowerCase() ?? '');
    });
    return row as Row;
  });
};

const TIMESTAMP_TYPES = new Set(['timestamptz', 'timestamp', 'timestamp with time zone', 'timestamp without time zone']);
const JSON_TYPES = new Set(['json', 'jsonb']);
const DECIMAL_STRING_TYPES = new Set(['int8', 'bigint', 'bigserial', 'serial8', 'numeric', 'decimal']);

const fieldValue = (field: Field, typeName: string): unknown => {
  if (field.isNull) return null;
  if (field.booleanValue !== undefined) return field.booleanValue;
  if (field.longValue !== undefined) return DECIMAL_STRING_TYPES.has(typeName) ? String(field.longValue) : field.longValue;
  if (field.doubleValue !== undefined) return field.doubleValue;
  if (field.blobValue !== undefined) return field.blobValue;
  if (field.arrayValue !== undefined) return arrayValue(field.arrayValue);
  if (field.stringValue !== undefined) {
    if (TIMESTAMP_TYPES.has(typeName)) return pgTimestampToIso(field.stringValue);
    if (JSON_TYPES.has(typeName)) return JSON.parse(field.stringValue);
    return field.stringValue;
  }
  return null;
};

const arrayValue = (value: NonNullable<Field['arrayValue']>): unknown[] =>
  value.stringValues ??
  value.longValues ??
  value.doubleValues ??
  value.booleanValues ??
  (value.arrayValues ?? []).map((inner) => (inner ? arrayValue(inner) : null));

const isResponseTooLarge = (error: unknown) =>
  /response size limit|exceeded the maximum response size|result set size/i.test((error as Error | null)?.message ?? '');
