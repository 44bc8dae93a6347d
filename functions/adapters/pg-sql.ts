import pg from 'pg';
import type { Sql, SqlParams, SqlRow, SqlRunner } from '../core/ports/sql';
import { toPositional } from './named-parameters';
import { PG_TYPE, pgTimestampToIso, transactionPreamble } from './postgres-dialect';

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

/** A PostgreSQL server through node-postgres, used when DATABASE_URL is set. */
export const openPgSql = async (connectionString: string, maxConnections = 10): Promise<Sql> => {
  const pool = new pg.Pool({ connectionString, max: maxConnections, options: '-c TimeZone=UTC' });
  // An idle client that loses its server emits 'error'; without a listener that would crash the process.
  pool.on('error', () => undefined);
  return {
    ...runnerOver(pool),
    async transaction(work, options = {}) {
      const client = await pool.connect();
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
        if (!lost) await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.off('error', onLost);
        client.release(lost);
      }
    },
    close: () => pool.end(),
  };
};
