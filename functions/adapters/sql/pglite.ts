import { PGlite, type Transaction } from '@electric-sql/pglite';
import type { Sql, SqlParams, SqlRow, SqlRunner } from '../../core/ports/sql';
import { toPositional } from './named-parameters';
import { PG_TYPE, pgTimestampToIso, transactionPreamble } from './postgres-dialect';
import { translatePostgresFailure } from './postgres-failures';

const parsers = {
  [PG_TYPE.INT8]: (text: string) => text,
  [PG_TYPE.TIMESTAMP]: pgTimestampToIso,
  [PG_TYPE.TIMESTAMPTZ]: pgTimestampToIso,
};

type Queryable = Pick<PGlite | Transaction, 'query'>;

const runnerOver = (target: Queryable): SqlRunner => ({
  async query<Row extends SqlRow>(sql: string, params?: SqlParams) {
    const { text, values } = toPositional(sql, params);
    const result = await target.query<Row>(text, values);
    return result.rows;
  },
});

/** The embedded default: PostgreSQL compiled to WebAssembly, persisted in `dataDir` (in memory when omitted). */
export const openPgliteSql = async (dataDir?: string): Promise<Sql> => {
  const db = await PGlite.create({ dataDir, parsers });
  await db.exec(`SET TIME ZONE 'UTC'`);
  const direct = runnerOver(db);
  return {
    query: <Row extends SqlRow>(sql: string, params?: SqlParams) => direct.query<Row>(sql, params).catch(translatePostgresFailure),
    transaction: (work, options = {}) =>
      db
        .transaction(async (tx) => {
          const preamble = transactionPreamble(options);
          if (preamble) await tx.query(preamble);
          return work(runnerOver(tx));
        })
        .catch(translatePostgresFailure),
    close: () => db.close(),
  };
};
