import pg from 'pg';
import type { Sql, SqlParams, SqlRow, SqlRunner } from '../../core/ports/sql';
import { toPositional } from './named-parameters';
import { PG_TYPE, pgTimestampToIso, transactionPreamble } from './postgres-dialect';
import { DRIVER_TIMEOUT_MESSAGES, translatePostgresFailure } from './postgres-failures';

const typeParsers: Record<number, (text: string) => unknown> = {
  [PG_TYPE.INT8]: (text) => text,
  [PG_TYPE.TIMESTAMP]: pgTimestampToIso,
  [PG_TYPE.TIMESTAMPTZ]: pgTimestampToIso,
};

const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    typeParsers[oid] ?? pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

const runnerOver = (target: Queryable): SqlRunner => ({
  async query<Row extends SqlRow>(sql: string, params?: SqlParams) {
    const { text, values } = toPositional(sql, params);
    const result = await target.query<Row>({ text, values, types });
    return result.rows;
  },
});

export interface PgSqlOptions {
  maxConnections?: number;
  /** How long to wait for a connection; a server that drops packets would otherwise hold a request for minutes. */
  connectTimeoutMs?: number;
  /** How long to wait for a statement's answer, for the same reason once connected. */
  queryTimeoutMs?: number;
}

/** A PostgreSQL server through node-postgres, used when DATABASE_URL is set. */
export const openPgSql = async (connectionString: string, options: PgSqlOptions = {}): Promise<Sql> => {
  const { maxConnections = 10, connectTimeoutMs = 5_000, queryTimeoutMs = 60_000 } = options;
  const pool = new pg.Pool({
    connectionString,
    max: maxConnections,
    options: '-c TimeZone=UTC',
    connectionTimeoutMillis: connectTimeoutMs,
    query_timeout: queryTimeoutMs,
    keepAlive: true,
  });
  // An idle client that loses its server emits 'error'; without a listener that would crash the process.
  pool.on('error', () => undefined);
  const pooled = runnerOver(pool);
  return {
    query: <Row extends SqlRow>(sql: string, params?: SqlParams) => pooled.query<Row>(sql, params).catch(translatePostgresFailure),
    async transaction(work, options = {}) {
      const client = await pool.connect().catch(translatePostgresFailure);
      // So does a checked-out one, between statements (a snapshot streaming its file when the server
      // stops): keep the error, let the next statement fail, and discard the client rather than pool it.
      let lost: Error | undefined;
      const onLost = (error: Error) => (lost = error);
      client.on('error', onLost);
      try {
        await client.query('BEGIN');
        const preamble = transactionPreamble(options);
        if (preamble) await client.query(preamble);
        const result = await work(runnerOver(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        // A statement that timed out leaves the connection in an unknown state: discard it, do not wait
        // for a ROLLBACK that would time out too.
        if (!lost && error instanceof Error && DRIVER_TIMEOUT_MESSAGES.test(error.message)) lost = error;
        if (!lost) await client.query('ROLLBACK').catch(() => undefined);
        return translatePostgresFailure(error);
      } finally {
        client.off('error', onLost);
        client.release(lost);
      }
    },
    close: () => pool.end(),
  };
};
