import { openPgliteSql } from '../../../functions/adapters/sql/pglite';
import { describeSqlContract } from './sql.contract';

describeSqlContract('PGlite', async () => {
  const sql = await openPgliteSql();
  return { sql, stop: () => sql.close() };
});
