/**
 * How each table is read into a snapshot: keyset pages whose row JSON PostgreSQL builds itself, in the
 * shapes the API uses elsewhere (bigint as a decimal string, times as ISO 8601 UTC with milliseconds
 * and "Z", JSON columns as objects). The select list comes from the catalog, so a column a later
 * migration adds is in the next snapshot without a change here. Rows of any size are read within the
 * RDS Data API's limits: each row's JSON in slices, pages bounded by bytes, keyed on (key, slice).
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

/**
 * Rows are grouped into segments, the unit a snapshot rereads and rewrites when one of its rows changed.
 * Numeric keys are identities that grow with time, so a segment is a range of SEGMENT_KEY_SPAN keys and
 * new rows land in the newest segments. Session ids are free text: a session's segment is the UTC day it
 * was created, so new and active sessions share today's. Migration 011's snapshot_segment() computes the
 * same numbers in the change-log trigger; the property test in test/core/snapshots fails if they differ.
 */
export const SEGMENT_KEY_SPAN = 4096;
const SESSION_SEGMENT_SECONDS = 86_400;

/** The SQL segment number of a row of `table` (alias t). */
export const segmentOfRow = (table: SnapshotTable): string =>
  table.keyType === 'text'
    ? `CAST(floor(extract(epoch FROM t.created_at) / ${SESSION_SEGMENT_SECONDS}) AS bigint)`
    : `(t.${quoteIdentifier(table.key)} / ${SEGMENT_KEY_SPAN})`;

/** A condition on the table (alias t) selecting the rows of segment `:segment`, in a form an index serves. */
const segmentCondition = (table: SnapshotTable): string => {
  if (table.keyType === 'text')
    return `t.created_at >= to_timestamp(CAST(:segment AS bigint) * ${SESSION_SEGMENT_SECONDS}) AND t.created_at < to_timestamp((CAST(:segment AS bigint) + 1) * ${SESSION_SEGMENT_SECONDS})`;
  const key = `t.${quoteIdentifier(table.key)}`;
  return `${key} >= CAST(:segment AS bigint) * ${SEGMENT_KEY_SPAN} AND ${key} < (CAST(:segment AS bigint) + 1) * ${SEGMENT_KEY_SPAN}`;
};

/**
 * What one statement's result may hold on every Sql adapter: the RDS Data API's limits, the tightest.
 * It refuses a result row over 64 KB and a response over 1 MiB, both counted as the JSON it sends. Kept
 * here, not in ports/sql.ts, because snapshots are the only reads whose rows and results have no bound.
 */
export const SQL_RESULT_LIMITS = { rowBytes: 64 * 1024, resultBytes: 1024 * 1024 } as const;

/** The most a result row's framing takes on the wire beyond its values (the Data API's typed JSON record). */
export const RESULT_ROW_FRAMING_BYTES = 100;

export interface PageLimits {
  /** Most table rows a page reads; pages start smaller and grow to fit `maxBytes` as row sizes become known. */
  maxRows: number;
  /**
   * Budget of a page's result as sent, estimated per result row as twice the UTF-8 bytes of its key and
   * slice (escaping at most doubles text) plus RESULT_ROW_FRAMING_BYTES; a page may pass it by one result row.
   */
  maxBytes: number;
  /**
   * Bytes of a row's JSON (UTF-8) per result row, give or take 3 so as to cut between characters (at
   * least 4): longer rows come in several slices, joined again here.
   */
  sliceBytes: number;
}

/**
 * Within SQL_RESULT_LIMITS whatever the rows hold. A slice of 16 KiB (+3) is at most 32 KiB (+6) as
 * sent, half the row limit, leaving room for its key; a page's estimate stops 128 KiB short of 1 MiB,
 * room for the one result row it may pass by and the response's own framing.
 */
export const DEFAULT_PAGE_LIMITS: PageLimits = {
  maxRows: 5000,
  maxBytes: SQL_RESULT_LIMITS.resultBytes - 2 * SQL_RESULT_LIMITS.rowBytes,
  sliceBytes: SQL_RESULT_LIMITS.rowBytes / 4,
};

/** Rows in a table's first page, before its row size is known. */
const FIRST_PAGE_ROWS = 500;

export const quoteIdentifier = (name: string) => `"${name.replaceAll('"', '""')}"`;

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

/** Where a table's next page starts: after a key, or inside the row of that key when a page ended mid-row. */
export interface PageCursor {
  key: string;
  /** Slices of the key's row still to read; 0 when the row was read whole. */
  slicesLeft: number;
  /** The slices of that row read so far, when it is still incomplete. */
  partial: readonly string[];
}

export interface TablePage {
  /** Each row completed on this page, as JSON text. */
  rows: string[];
  /** The key of each of `rows`, as text. */
  keys: string[];
  /** Where the next page starts; null when this page was the table's last. */
  nextAfter: PageCursor | null;
}

export interface TableReader {
  table: SnapshotTable;
  /**
   * One page of rows after `after` (the previous page's cursor, null for the first), each as JSON text;
   * only the rows of `segment` when one is given, and only those with keys in `range` when one is given.
   */
  page(tx: SqlRunner, after: PageCursor | null, segment?: number, range?: KeyRange): Promise<TablePage>;
}

/** Keys above `above` (when not null) and up to `upTo` inclusive (when not null), in the table's key order. */
export interface KeyRange {
  above: string | null;
  upTo: string | null;
}

type From = 'start' | 'after-row' | 'mid-row';

interface CatalogColumn {
  table_name: string;
  column_name: string;
  data_type: string;
}

interface SliceRow {
  key_value: string;
  /** Slices of this row after this one: 0 marks a row's last slice, so no row needs a count of its own. */
  slices_left: number | string;
  piece: string;
  [column: string]: unknown;
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
    const typed = (param: string) => (table.keyType === 'bigint' ? `CAST(:${param} AS bigint)` : `:${param}`);
    const afterKey = typed('after');
    const slice = 'CAST(:slice_bytes AS integer)';
    // The first character boundary at or after byte `at` of the row's UTF-8 (a continuation byte is
    // 10xxxxxx), so that every slice is whole characters.
    const boundaryFrom = (at: string) =>
      `CASE WHEN ${at} >= whole.row_bytes OR get_byte(whole.utf8, ${at}) & 192 <> 128 THEN ${at}
            WHEN ${at} + 1 >= whole.row_bytes OR get_byte(whole.utf8, ${at} + 1) & 192 <> 128 THEN ${at} + 1
            WHEN ${at} + 2 >= whole.row_bytes OR get_byte(whole.utf8, ${at} + 2) & 192 <> 128 THEN ${at} + 2
            ELSE ${at} + 3 END`;
    // Up to `max_rows` rows from where the last page stopped, each cut into slices of about
    // `slice_bytes`, and the slices cut once `max_bytes` is reached. Slices are cut from the UTF-8
    // bytes, so cutting a row costs one pass over it, where cutting text by characters walks it again
    // for every slice. Each OFFSET 0 keeps PostgreSQL from folding a subquery into the next: the row
    // JSON and its bytes are computed once per row, and only the slices, never the whole row once per
    // slice, go through the sort for the running sum. A row that fits one slice is sent whole. The
    // slice numbers come from unnest, which the planner takes for about 10 rows where generate_series
    // over a column counts 1,000: with that estimate PostgreSQL spent seconds JIT-compiling each page.
    // 'mid-row' resumes inside the row of `after`, skipping the slices already read.
    const whereOf = (from: From, segmented: boolean, above: boolean, upTo: boolean) => {
      const conditions = [
        ...(segmented ? [segmentCondition(table)] : []),
        ...(from === 'start' ? [] : [`t.${key} ${from === 'mid-row' ? '>=' : '>'} ${afterKey}`]),
        ...(above ? [`t.${key} > ${typed('above')}`] : []),
        ...(upTo ? [`t.${key} <= ${typed('up_to')}`] : []),
      ];
      return conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`;
    };
    const pageSql = (from: From, segmented: boolean, above = false, upTo = false) =>
      `SELECT key_value, slices_left, piece FROM (
         SELECT key_value, slices_left, piece,
                sum(cost) OVER (ORDER BY key_value, slices_left DESC ROWS UNBOUNDED PRECEDING) - cost AS bytes_before
         FROM (
           SELECT whole.key_value, whole.last_slice - s.slice_no AS slices_left, sliced.piece,
                  2 * (octet_length(sliced.piece) + octet_length(whole.key_value::text)) + ${RESULT_ROW_FRAMING_BYTES} AS cost
           FROM (SELECT key_value, row_json, octet_length(row_json) AS row_bytes, (octet_length(row_json) - 1) / ${slice} AS last_slice,
                        CASE WHEN octet_length(row_json) > ${slice} THEN convert_to(row_json, 'UTF8') END AS utf8
                 FROM (SELECT t.${key} AS key_value, row_to_json(r)::text AS row_json
                       FROM ${quoteIdentifier(table.section)} AS t, LATERAL (SELECT ${convertedRow}) AS r
                       ${whereOf(from, segmented, above, upTo)}
                       ORDER BY t.${key} LIMIT :max_rows) AS page
                 OFFSET 0) AS whole,
                LATERAL unnest(CASE WHEN whole.last_slice = 0 THEN ARRAY[0] ELSE ARRAY(SELECT generate_series(0, whole.last_slice)) END) AS s(slice_no),
                LATERAL (SELECT CASE WHEN whole.last_slice = 0 THEN whole.row_json
                                     ELSE convert_from(substring(whole.utf8 FROM bounds.first + 1 FOR bounds.next - bounds.first), 'UTF8') END AS piece
                         FROM (SELECT ${boundaryFrom(`s.slice_no * ${slice}`)} AS first,
                                      ${boundaryFrom(`(s.slice_no + 1) * ${slice}`)} AS next) AS bounds) AS sliced
           ${from === 'mid-row' ? `WHERE whole.key_value > ${afterKey} OR whole.last_slice - s.slice_no < :slices_left` : ''}
           OFFSET 0
         ) AS costed
       ) AS counted
       WHERE bytes_before < :max_bytes
       ORDER BY key_value, slices_left DESC`;
    const statements = new Map<string, string>();
    const statementFor = (from: From, segmented: boolean, above: boolean, upTo: boolean): string => {
      const name = `${from}:${segmented}:${above}:${upTo}`;
      if (!statements.has(name)) statements.set(name, pageSql(from, segmented, above, upTo));
      return statements.get(name)!;
    };
    let rowsPerPage = Math.min(FIRST_PAGE_ROWS, limits.maxRows);
    return {
      table,
      async page(tx, after, segment, range) {
        const from = after === null ? 'start' : after.slicesLeft === 0 ? 'after-row' : 'mid-row';
        const above = range?.above ?? null;
        const upTo = range?.upTo ?? null;
        const found = await tx.query<SliceRow>(statementFor(from, segment !== undefined, above !== null, upTo !== null), {
          ...(segment === undefined ? {} : { segment }),
          ...(above === null ? {} : { above }),
          ...(upTo === null ? {} : { up_to: upTo }),
          max_rows: rowsPerPage,
          max_bytes: limits.maxBytes,
          slice_bytes: limits.sliceBytes,
          ...(after === null ? {} : { after: after.key }),
          ...(from === 'mid-row' ? { slices_left: after!.slicesLeft } : {}),
        });
        const last = found.at(-1);
        if (!last) {
          // Inside one transaction a row cannot lose its remaining slices; if it did, fail, never write half a row.
          if (from === 'mid-row') throw new Error(`snapshot row ${after!.key} of ${table.section} ended before its last slice`);
          // Only an empty page ends the table: a short one may have been cut by the byte budget.
          return { rows: [], keys: [], nextAfter: null };
        }
        const rows: string[] = [];
        const keys: string[] = [];
        let partial: string[] = from === 'mid-row' ? [...after!.partial] : [];
        let characters = 0;
        for (const { piece, slices_left, key_value } of found) {
          characters += piece.length;
          partial.push(piece);
          if (Number(slices_left) === 0) {
            keys.push(String(key_value));
            rows.push(partial.length === 1 ? partial[0]! : partial.join(''));
            partial = [];
          }
        }
        const rowsTouched = rows.length + (partial.length > 0 ? 1 : 0);
        // The next page's row limit, from this page's row size, so that little JSON is built only to be
        // cut by the budget; characters for bytes is an estimate, the budget in SQL has the last word.
        const perRow = (2 * characters + RESULT_ROW_FRAMING_BYTES * found.length) / rowsTouched;
        rowsPerPage = Math.max(1, Math.min(limits.maxRows, Math.floor((limits.maxBytes / perRow) * 0.9)));
        return { rows, keys, nextAfter: { key: String(last.key_value), slicesLeft: Number(last.slices_left), partial } };
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
