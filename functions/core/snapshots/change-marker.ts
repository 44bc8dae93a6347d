/**
 * The change marker: an object rewritten after every committed write to a snapshot table, so that a
 * scheduled snapshot can tell a minute in which nothing changed without opening the database (Aurora
 * Serverless v2 pauses only after 5 minutes without connections). The race reasoning is in
 * docs/snapshots.md ("Quiet minutes").
 */
import { randomUUID } from 'node:crypto';
import type { Dependencies } from '../dependencies';
import { SNAPSHOT_CHANGE_MARKER_KEY } from '../keys';
import type { ObjectStore } from '../ports/object-store';
import type { Sql, SqlParams, SqlRow, SqlRunner } from '../ports/sql';

/** A statement that writes one of the four snapshot tables (a cascading delete starts at sessions). */
const SNAPSHOT_TABLE_WRITE = /\b(?:insert\s+into|update|delete\s+from)\s+"?(?:sessions|audio_chunks|code_history|execution_results)\b/i;

export const writesSnapshotTable = (statement: string): boolean => SNAPSHOT_TABLE_WRITE.test(statement);

/** The marker's current value; null when no write has ever set it (or it expired). */
export const readChangeMarker = async (store: ObjectStore): Promise<string | null> => {
  const stored = await store.get(SNAPSHOT_CHANGE_MARKER_KEY);
  return stored ? Buffer.from(stored.body).toString('utf8') : null;
};

/** A value never written before, so a reader that saw the previous one knows a write came after it. */
export const recordChange = async (store: ObjectStore): Promise<void> => {
  await store.put(SNAPSHOT_CHANGE_MARKER_KEY, `${new Date().toISOString()} ${randomUUID()}`, { contentType: 'text/plain' });
};

/**
 * The Sql port as every writer uses it: after a statement or transaction that wrote a snapshot table has
 * committed, the marker is rewritten. A marker that fails to be written is logged and left to the
 * scheduled run's periodic database check; the write itself has committed and stands.
 */
export const markingSnapshotChanges = (sql: Sql, { store, logger }: Pick<Dependencies, 'store' | 'logger'>): Sql => {
  const mark = async () => {
    try {
      await recordChange(store);
    } catch (error) {
      logger.warn('Snapshot change marker not written', { error: error instanceof Error ? error.message : String(error) });
    }
  };
  return {
    async query<Row extends SqlRow = SqlRow>(statement: string, params?: SqlParams) {
      const rows = await sql.query<Row>(statement, params);
      if (writesSnapshotTable(statement)) await mark();
      return rows;
    },
    async transaction(work, options) {
      let wrote = false;
      const result = await sql.transaction((tx) => {
        const watched: SqlRunner = {
          query<Row extends SqlRow = SqlRow>(statement: string, params?: SqlParams) {
            if (writesSnapshotTable(statement)) wrote = true;
            return tx.query<Row>(statement, params);
          },
        };
        return work(watched);
      }, options);
      if (wrote) await mark();
      return result;
    },
    close: () => sql.close(),
  };
};
