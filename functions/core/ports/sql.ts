/**
 * The SQL port. Shaped to fit the RDS Data API as well as a driver:
 * - parameters are named (`:session_id`) and passed as a plain object;
 * - rows come back as plain objects with normalized values:
 *   bigint and numeric as decimal strings, timestamptz as ISO 8601 UTC strings ("...Z"),
 *   json/jsonb as parsed values, null as null;
 * - transactions are explicit and scoped to a callback;
 * - a database that is down or unreachable fails as a core dependency_unavailable error.
 */
export type SqlParam = string | number | boolean | null;
export type SqlParams = Readonly<Record<string, SqlParam>>;
export type SqlRow = Record<string, unknown>;

export interface SqlRunner {
  query<Row extends SqlRow = SqlRow>(sql: string, params?: SqlParams): Promise<Row[]>;
}

export interface TransactionOptions {
  isolation?: 'read committed' | 'repeatable read' | 'serializable';
  readOnly?: boolean;
}

export interface Sql extends SqlRunner {
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: SqlRunner) => Promise<T>, options?: TransactionOptions): Promise<T>;
  close(): Promise<void>;
}
