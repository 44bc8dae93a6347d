/**
 * Which segments a snapshot must read again: those holding a row written by a transaction that the
 * previous snapshot's database snapshot could not see (migration 011's change log), or every segment
 * when there is no previous snapshot to build on. Also prunes the log once a newer snapshot is stored.
 */
import type { Sql, SqlRunner } from '../ports/sql';
import { quoteIdentifier, SNAPSHOT_TABLES, type SnapshotSection, segmentOfRow } from './snapshot-tables';

export type SegmentSet = Map<SnapshotSection, Set<number>>;

const newSegmentSet = (): SegmentSet => new Map(SNAPSHOT_TABLES.map(({ section }) => [section, new Set<number>()]));

/** The database snapshot this transaction reads, in pg_snapshot's text form (xmin:xmax:xip,...). */
export const currentDatabaseSnapshot = async (tx: SqlRunner): Promise<string> => {
  const [row] = await tx.query<{ snapshot: string }>('SELECT CAST(pg_current_snapshot() AS text) AS snapshot');
  return row!.snapshot;
};

/** Whether changes the snapshot `since` needs were pruned already (a run based on a snapshot older than the latest). */
export const changesPrunedSince = async (tx: SqlRunner, since: string): Promise<boolean> => {
  const [row] = await tx.query<{ pruned: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM snapshot_change_horizon
                    WHERE pruned_below > pg_snapshot_xmin(CAST(:since AS pg_snapshot))) AS pruned`,
    { since },
  );
  return row!.pruned === true;
};

/** Per changed segment, the keys of its changed rows; null when a change names no key (logged before migration 013). */
export type ChangedRows = Map<SnapshotSection, Map<number, Set<string> | null>>;

/** Change-log rows per statement: about 90 bytes each as the Data API sends them, well within its 1 MiB. */
const CHANGED_ROWS_PAGE = 5000;

const changedRowsSql = `SELECT section, CAST(segment AS text) AS segment, row_key, whole FROM (
    SELECT DISTINCT section, segment, coalesce(row_key, '') AS row_key, row_key IS NULL AS whole
    FROM snapshot_changes
    WHERE txid >= pg_snapshot_xmin(CAST(:since AS pg_snapshot)) AND NOT pg_visible_in_snapshot(txid, CAST(:since AS pg_snapshot))
      AND (section, segment, coalesce(row_key, '')) > (:section, CAST(:segment AS bigint), :row_key)) AS changed
  ORDER BY section, CAST(segment AS bigint), row_key LIMIT ${CHANGED_ROWS_PAGE}`;

/** The rows changed by transactions that `since` could not see and `tx` can, by segment, in keyset pages. */
export const changedRowsSince = async (tx: SqlRunner, since: string): Promise<ChangedRows> => {
  const changed: ChangedRows = new Map(SNAPSHOT_TABLES.map(({ section }) => [section, new Map()]));
  let after = { section: '', segment: String(Number.MIN_SAFE_INTEGER), row_key: '' };
  for (;;) {
    const page = await tx.query<{ section: SnapshotSection; segment: string; row_key: string; whole: boolean }>(changedRowsSql, {
      since,
      ...after,
    });
    for (const { section, segment, row_key, whole } of page) {
      const segments = changed.get(section);
      if (!segments) continue;
      const number = Number(segment);
      const keys = segments.has(number) ? segments.get(number)! : new Set<string>();
      if (whole || keys === null) segments.set(number, null);
      else segments.set(number, keys.add(row_key));
    }
    const last = page.at(-1);
    if (!last || page.length < CHANGED_ROWS_PAGE) return changed;
    after = { section: last.section, segment: last.segment, row_key: last.row_key };
  }
};

/** Every segment that holds a row, for a snapshot with nothing to build on. */
export const allSegments = async (tx: SqlRunner): Promise<SegmentSet> => {
  const segments = newSegmentSet();
  for (const table of SNAPSHOT_TABLES) {
    const found = await tx.query<{ segment: string }>(
      `SELECT DISTINCT CAST(${segmentOfRow(table)} AS text) AS segment FROM ${quoteIdentifier(table.section)} AS t`,
    );
    for (const { segment } of found) segments.get(table.section)!.add(Number(segment));
  }
  return segments;
};

/**
 * Drops the change log below the xmin of `since`, the database snapshot of the manifest the stored one
 * was built on: every run based on that manifest or a newer one still finds all it needs, and a run
 * based on an older one sees the horizon and reads every segment (changesPrunedSince).
 */
export const pruneChangesBefore = async (sql: Sql, since: string): Promise<void> => {
  await sql.transaction(async (tx) => {
    await tx.query('DELETE FROM snapshot_changes WHERE txid < pg_snapshot_xmin(CAST(:since AS pg_snapshot))', { since });
    await tx.query(
      `INSERT INTO snapshot_change_horizon (pruned_below) VALUES (pg_snapshot_xmin(CAST(:since AS pg_snapshot)))
       ON CONFLICT (only_row) DO UPDATE SET pruned_below = greatest(snapshot_change_horizon.pruned_below, EXCLUDED.pruned_below)`,
      { since },
    );
  });
};
