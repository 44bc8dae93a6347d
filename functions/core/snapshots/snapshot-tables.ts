/**
 * How each table is read into a snapshot: keyset pages whose row JSON PostgreSQL builds itself, in the
 * shapes the API uses elsewhere (bigint as a decimal string, times as ISO 8601 UTC with milliseconds
 * and "Z", JSON columns as objects). The select list comes from the catalog, so a column a later
 * migration adds is in the next snapshot without a change here.
 */
import type { SqlRunner } from '../ports/sql';

export type SnapshotSection = 'sessions' | 'audio_chunks' | 'code_history' | 'execution_results';

export interface SnapshotTable {
  section: SnapshotSection;
  /** The primary key that pages are keyed on. */
  key: string;
  keyType: 'text' | 'bigint';
}

/** In the order the document lists them. */
export const SNAPSHOT_TABLES: readonly SnapshotTable[] = [
  { section: 'sessions', key: 'session_id', keyType: 'text' },
  { section: 'audio_chunks', key: 'chunk_id', keyType: 'bigint' },
  { section: 'code_history', key: 'id', keyType: 'bigint' },
  { section: 'execution_results', key: 'id', keyType: 'bigint' },
];

export interface PageLimits {
  maxRows: number;
  /**
   * Row JSON bytes per page. The RDS Data API cuts a response off at 1 MiB and its JSON format
   * escapes the row text again, so a page keeps well under half of that; a row can add at most
   * 64 KB beyond the budget (the Data API refuses bigger rows).
   */
  maxBytes: number;
}

export const DEFAULT_PAGE_LIMITS: PageLimits = { maxRows: 2000, maxBytes: 384 * 1024 };

const quoteIdentifier = (name: string) => `"${name.replaceAll('"', '""')}"`;

const ISO_UTC_MILLIS = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;

/** The JSON value expression for one column, by its SQL type. */
const jsonValueOf = (column: string, dataType: string): string => {
  const ref = quoteIdentifier(column);
  switch (dataType) {
    case 'timestamp with time zone':
      return `to_char(${ref} AT TIME ZONE 'UTC', ${ISO_UTC_MILLIS})`;
    case 'timestamp without time zone':
      return `to_char(${ref}, ${ISO_UTC_MILLIS})`;
    case 'bigint':
    case 'numeric':
      return `${ref}::text`;
    default:
      return ref;
  }
};

export interface TablePage {
  rows: string[];
  /** Where the next page starts; null when this page was the table's last. */
  nextAfter: string | null;
}

export interface TableReader {
  table: SnapshotTable;
  /** One page of rows after `after` (a key from the previous page, null for the first), each as JSON text. */
  page(tx: SqlRunner, after: string | null): Promise<TablePage>;
}

interface CatalogColumn {
  table_name: string;
  column_name: string;
  data_type: string;
}

/** Reads the column lists of the snapshot tables (inside the snapshot's transaction) and builds a page reader for each. */
export const tableReaders = async (tx: SqlRunner, limits: PageLimits = DEFAULT_PAGE_LIMITS): Promise<TableReader[]> => {
  const columns = await tx.query<CatalogColumn & Record<string, unknown>>(
    `SELECT table_name::text AS table_name, column_name::text AS column_name, data_type::text AS data_type
     FROM information_schema.columns
     WHERE table_schema = current_schema()
       AND table_name IN ('sessions', 'audio_chunks', 'code_history', 'execution_results')
     ORDER BY table_name, ordinal_position`,
  );
  return SNAPSHOT_TABLES.map((table) => {
    const own = columns.filter((column) => column.table_name === table.section);
    if (own.length === 0) throw new Error(`snapshot table ${table.section} has no columns`);
    const rowJson = `json_build_object(${own
      .map((column) => `'${column.column_name.replaceAll("'", "''")}', ${jsonValueOf(column.column_name, column.data_type)}`)
      .join(', ')})::text`;
    const key = quoteIdentifier(table.key);
    const afterKey = table.keyType === 'bigint' ? 'CAST(:after AS bigint)' : ':after';
    const pageSql = (first: boolean) =>
      `SELECT key_text, row_json, fetched FROM (
         SELECT key_value, key_text, row_json, count(*) OVER () AS fetched,
                sum(octet_length(row_json)) OVER (ORDER BY key_value ROWS UNBOUNDED PRECEDING) - octet_length(row_json) AS bytes_before
         FROM (SELECT ${key} AS key_value, ${key}::text AS key_text, ${rowJson} AS row_json
               FROM ${quoteIdentifier(table.section)}
               ${first ? '' : `WHERE ${key} > ${afterKey}`}
               ORDER BY ${key} LIMIT :max_rows) AS page
       ) AS sized
       WHERE bytes_before < :max_bytes
       ORDER BY key_value`;
    const firstPage = pageSql(true);
    const nextPage = pageSql(false);
    return {
      table,
      async page(tx, after) {
        const params = { max_rows: limits.maxRows, max_bytes: limits.maxBytes };
        const found = await tx.query<{ key_text: string; row_json: string; fetched: string | number }>(
          after === null ? firstPage : nextPage,
          after === null ? params : { ...params, after },
        );
        const last = found.at(-1);
        // A page cut short by the row limit is the last one; one cut by the byte budget is not.
        const more = last !== undefined && (Number(last.fetched) >= limits.maxRows || found.length < Number(last.fetched));
        return { rows: found.map((row) => row.row_json), nextAfter: more ? last.key_text : null };
      },
    };
  });
};

/** Row counts of the four tables as the transaction sees them. */
export const countRows = async (tx: SqlRunner): Promise<Record<SnapshotSection, number>> => {
  const [row] = await tx.query<Record<SnapshotSection, string | number>>(
    `SELECT (SELECT count(*) FROM sessions) AS sessions,
            (SELECT count(*) FROM audio_chunks) AS audio_chunks,
            (SELECT count(*) FROM code_history) AS code_history,
            (SELECT count(*) FROM execution_results) AS execution_results`,
  );
  return {
    sessions: Number(row!.sessions),
    audio_chunks: Number(row!.audio_chunks),
    code_history: Number(row!.code_history),
    execution_results: Number(row!.execution_results),
  };
};
