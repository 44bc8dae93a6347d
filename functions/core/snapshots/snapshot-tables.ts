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
  /** Most rows in a page; pages start smaller and grow to fit `maxBytes` as row sizes become known. */
  maxRows: number;
  /**
   * Bytes of row JSON per page; a page may pass it by one row. The RDS Data API cuts a response off
   * at 1 MiB, and its JSON format escapes each row's text once more, which at worst doubles it.
   */
  maxBytes: number;
}

/**
 * Under the Data API's 1 MiB at worst: 352 KiB of row text and one more row of up to 64 KB (it refuses
 * bigger rows), both doubled by escaping, and about 30 bytes of record framing for each of at most
 * 5,000 rows.
 */
export const DEFAULT_PAGE_LIMITS: PageLimits = { maxRows: 5000, maxBytes: 352 * 1024 };

/** Rows in a table's first page, before its row size is known. */
const FIRST_PAGE_ROWS = 500;

const quoteIdentifier = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * `YYYY-MM-DD"T"HH24:MI:SS.MS"Z"`, with its colons as chr(58) so that no `:MI` in the statement can be
 * taken for a named parameter by a parser less careful with literals; folded to a constant at planning.
 */
const ISO_UTC_MILLIS = `('YYYY-MM-DD"T"HH24' || chr(58) || 'MI' || chr(58) || 'SS.MS"Z"')`;

/** The JSON value expression for one column, by its SQL type. */
const jsonValueOf = (column: string, dataType: string): string => {
  const ref = `t.${quoteIdentifier(column)}`;
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
  /** Each row as JSON text. */
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
    `SELECT c.relname::text AS table_name, a.attname::text AS column_name, format_type(a.atttypid, NULL) AS data_type
     FROM pg_catalog.pg_attribute a
     JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = current_schema()
       AND c.relname IN ('sessions', 'audio_chunks', 'code_history', 'execution_results')
       AND a.attnum > 0 AND NOT a.attisdropped
     ORDER BY c.relname, a.attnum`,
  );
  return SNAPSHOT_TABLES.map((table) => {
    const own = columns.filter((column) => column.table_name === table.section);
    if (own.length === 0) throw new Error(`snapshot table ${table.section} has no columns`);
    // row_to_json over a LATERAL row of the converted columns: PostgreSQL's fast path for a whole row.
    const convertedRow = own
      .map((column) => `${jsonValueOf(column.column_name, column.data_type)} AS ${quoteIdentifier(column.column_name)}`)
      .join(', ');
    const key = quoteIdentifier(table.key);
    const afterKey = table.keyType === 'bigint' ? 'CAST(:after AS bigint)' : ':after';
    // Up to `max_rows` rows after the last key, cut once `max_bytes` of row JSON is reached. The row
    // JSON is computed once, in the LIMIT subquery, which PostgreSQL never folds into the outer ones.
    const pageSql = (first: boolean) =>
      `SELECT row_json FROM (
         SELECT key_value, row_json,
                sum(octet_length(row_json)) OVER (ORDER BY key_value ROWS UNBOUNDED PRECEDING) - octet_length(row_json) AS bytes_before
         FROM (SELECT t.${key} AS key_value, row_to_json(r)::text AS row_json
               FROM ${quoteIdentifier(table.section)} AS t, LATERAL (SELECT ${convertedRow}) AS r
               ${first ? '' : `WHERE t.${key} > ${afterKey}`}
               ORDER BY t.${key} LIMIT :max_rows) AS page
       ) AS sized
       WHERE bytes_before < :max_bytes
       ORDER BY key_value`;
    const firstPage = pageSql(true);
    const nextPage = pageSql(false);
    let rowsPerPage = Math.min(FIRST_PAGE_ROWS, limits.maxRows);
    return {
      table,
      async page(tx, after) {
        const found = await tx.query<{ row_json: string }>(after === null ? firstPage : nextPage, {
          max_rows: rowsPerPage,
          max_bytes: limits.maxBytes,
          ...(after === null ? {} : { after }),
        });
        const last = found.at(-1);
        // Only an empty page ends the table: a short one may have been cut by the byte budget.
        if (!last) return { rows: [], nextAfter: null };
        let characters = 0;
        const rows = found.map((row) => ((characters += row.row_json.length), row.row_json));
        // The next page's row limit, from this page's row size, so that little JSON is built only to
        // be cut by the budget; characters for bytes is an estimate, the budget in SQL has the last word.
        rowsPerPage = Math.max(1, Math.min(limits.maxRows, Math.floor((limits.maxBytes / (characters / rows.length)) * 0.9)));
        // The key travels inside the row's JSON (a bigint key as a string), so no second column per row.
        return { rows, nextAfter: String((JSON.parse(last.row_json) as Record<string, unknown>)[table.key]) };
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
