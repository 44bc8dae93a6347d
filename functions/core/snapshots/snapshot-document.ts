/**
 * The whole state as one JSON document, written as it is read: the header, each table's rows page by
 * page, then the metadata, whose `snapshot_size_bytes` is the size of the whole document including
 * itself. Snapshots were stored this way before segments (issue 16); it remains the shape GET returns,
 * the full dump the tests and benchmarks compare segmented snapshots with, and the size they report.
 */
import { SNAPSHOTS_PREFIX } from '../keys';
import type { SqlRunner } from '../ports/sql';
import type { SnapshotSection, TablePage, TableReader } from './snapshot-tables';

export interface SnapshotMetadata {
  total_sessions: number;
  total_audio_chunks: number;
  total_code_entries: number;
  total_executions: number;
  snapshot_size_bytes: number;
}

export type SnapshotData = Record<SnapshotSection, Record<string, unknown>[]>;

/** The file's content, as the seed shows it. */
export interface SnapshotDocument {
  timestamp: string;
  snapshot_id: string;
  data: SnapshotData;
  metadata: SnapshotMetadata;
}

export type RowCounts = Record<SnapshotSection, number>;

/** The seed's form: ISO 8601 UTC to the second, as the id names whole seconds. */
export const snapshotTimestamp = (instant: Date): string => `${instant.toISOString().slice(0, 19)}Z`;

const KEY_DIGITS_AT = `${SNAPSHOTS_PREFIX}snapshot_`.length;

/**
 * snapshotTimestamp of the instant a snapshot key names, read off the key's digits (YYYYMMDD_HHMMSS):
 * listings give one per snapshot, and formatting a Date each time was a visible share of a listing.
 * Only for keys that snapshotIdFromKey accepts.
 */
export const snapshotTimestampOfKey = (key: string): string => {
  const digits = key.slice(KEY_DIGITS_AT, KEY_DIGITS_AT + 15);
  return `${digits.slice(0, 4)}-${digits.slice(4, 6)}-${digits.slice(6, 8)}T${digits.slice(9, 11)}:${digits.slice(11, 13)}:${digits.slice(13, 15)}Z`;
};

export const metadataOf = (counts: RowCounts, sizeBytes: number): SnapshotMetadata => ({
  total_sessions: counts.sessions,
  total_audio_chunks: counts.audio_chunks,
  total_code_entries: counts.code_history,
  total_executions: counts.execution_results,
  snapshot_size_bytes: sizeBytes,
});

/** The closing bytes, sized so the metadata's own byte count is included in the size it reports. */
export const closingFor = (bytesBefore: number, counts: RowCounts): { bytes: Buffer; metadata: SnapshotMetadata } => {
  const render = (size: number) => {
    const metadata = metadataOf(counts, size);
    return { metadata, bytes: Buffer.from(`},"metadata":${JSON.stringify(metadata)}}`) };
  };
  let size = bytesBefore + render(0).bytes.length;
  // Each extra digit of the size lengthens the file by one byte; two passes settle it.
  for (let pass = 0; pass < 3; pass += 1) {
    const rendered = render(size);
    const total = bytesBefore + rendered.bytes.length;
    if (total === size) return rendered;
    size = total;
  }
  throw new Error('snapshot size did not settle');
};

/**
 * The rows joined by commas as UTF-8, written straight into one buffer: several times faster than
 * joining the strings and encoding the result.
 */
const encodeRows = (rows: readonly string[], leadingComma: boolean): Buffer => {
  let size = rows.length - 1 + (leadingComma ? 1 : 0);
  for (const row of rows) size += Buffer.byteLength(row);
  const piece = Buffer.allocUnsafe(size);
  let offset = 0;
  for (const [index, row] of rows.entries()) {
    if (index > 0 || leadingComma) piece[offset++] = 0x2c;
    offset += piece.write(row, offset);
  }
  return piece;
};

export interface DocumentProgress {
  counts: RowCounts;
  metadata?: SnapshotMetadata;
}

/**
 * Yields the document piece by piece, with at most two pages in memory: the one being written and
 * the next. `progress` holds the counts so far and, once the last piece is out, the metadata written.
 */
export async function* snapshotDocument(
  tx: SqlRunner,
  readers: readonly TableReader[],
  header: { timestamp: string; snapshot_id: string },
  progress: DocumentProgress,
): AsyncGenerator<Buffer> {
  let bytes = 0;
  const emit = (text: string) => {
    const piece = Buffer.from(text);
    bytes += piece.length;
    return piece;
  };
  yield emit(`{"timestamp":${JSON.stringify(header.timestamp)},"snapshot_id":${JSON.stringify(header.snapshot_id)},"data":{`);
  for (const [index, reader] of readers.entries()) {
    yield emit(`${index === 0 ? '' : ','}${JSON.stringify(reader.table.section)}:[`);
    let first = true;
    let pending: Promise<TablePage> | null = reader.page(tx, null);
    while (pending) {
      const page: TablePage = await pending;
      // Ask for the next page before writing this one, so the database builds it while this one is written.
      pending = page.nextAfter === null ? null : reader.page(tx, page.nextAfter);
      // Settled here if the consumer stops early, so the prefetch can never be an unhandled rejection.
      pending?.catch(() => undefined);
      if (page.rows.length > 0) {
        const piece = encodeRows(page.rows, !first);
        bytes += piece.length;
        yield piece;
        first = false;
        progress.counts[reader.table.section] += page.rows.length;
      }
    }
    yield emit(']');
  }
  const closing = closingFor(bytes, progress.counts);
  progress.metadata = closing.metadata;
  yield closing.bytes;
}
