/**
 * A snapshot as stored: a small manifest under the snapshot's key naming immutable segment pieces (each a
 * JSON array of rows of one table, at most PIECE_BYTES). Unchanged segments are named again by the next
 * manifest, so a minute writes only the segments whose rows changed (docs/snapshots.md).
 */
import { closingFor, type RowCounts, type SnapshotMetadata } from './snapshot-document';
import { SNAPSHOT_TABLES, type SnapshotSection } from './snapshot-tables';

/**
 * `segments/2`: the manifest and its pieces are gzipped (compression.ts). `segments/1` manifests, plain
 * JSON naming plain pieces, are still read and built on: the two differ only in their encoding.
 */
export const MANIFEST_FORMAT = 'segments/2';
export const PLAIN_MANIFEST_FORMAT = 'segments/1';
export type ManifestFormat = typeof MANIFEST_FORMAT | typeof PLAIN_MANIFEST_FORMAT;

export const isManifestFormat = (format: unknown): format is ManifestFormat =>
  format === MANIFEST_FORMAT || format === PLAIN_MANIFEST_FORMAT;

/**
 * Largest piece: one part of GET /sandbox_snapshot/{id}/parts/{n} must fit a Lambda response (6 MB)
 * with its envelope. A single row bigger than this is a piece of its own.
 */
export const PIECE_BYTES = 4 * 1024 * 1024;

export interface SegmentPiece {
  key: string;
  rows: number;
  /** The piece's size: `[`, the rows joined by commas, `]`. */
  bytes: number;
  /** Bytes in the store (gzipped); absent for a plain piece, which stores `bytes`. */
  stored?: number;
  /**
   * The key of the piece's last row, as text: a segment's pieces cover consecutive key ranges, each up to
   * its `last_key`, so a change is rewritten in the piece whose range holds its key (segment-ranges.ts).
   * Absent on pieces written before that: their segment is rewritten whole when it changes.
   */
  last_key?: string;
}

export interface ManifestSegment {
  segment: number;
  pieces: SegmentPiece[];
}

/** What the next snapshot needs to know about how this one was read. */
export interface ManifestState {
  /** pg_current_snapshot() of the transaction the segments were last read in. */
  database_snapshot: string;
  /** The change marker read just before that transaction began; null when there was none. */
  change_marker: string | null;
  /** When the database was last read (ISO 8601); quiet minutes carry it forward. */
  database_checked_at: string;
}

export interface SnapshotManifest {
  format: ManifestFormat;
  timestamp: string;
  snapshot_id: string;
  /** The totals and size of the whole state as one document (what GET returns inline). */
  metadata: SnapshotMetadata;
  segments: Record<SnapshotSection, ManifestSegment[]>;
  state: ManifestState;
}

export const isManifest = (value: unknown): value is SnapshotManifest =>
  typeof value === 'object' && value !== null && isManifestFormat((value as { format?: unknown }).format);

export const emptySegments = (): Record<SnapshotSection, ManifestSegment[]> => ({
  sessions: [],
  audio_chunks: [],
  code_history: [],
  execution_results: [],
});

export const countsOf = (segments: Record<SnapshotSection, ManifestSegment[]>): RowCounts => {
  const counts: RowCounts = { sessions: 0, audio_chunks: 0, code_history: 0, execution_results: 0 };
  for (const { section } of SNAPSHOT_TABLES)
    for (const segment of segments[section]) for (const piece of segment.pieces) counts[section] += piece.rows;
  return counts;
};

/** The opening of the whole-state document, as `{timestamp, snapshot_id, data: {` ... */
export const documentHeader = (timestamp: string, snapshotId: string): string =>
  `{"timestamp":${JSON.stringify(timestamp)},"snapshot_id":${JSON.stringify(snapshotId)},"data":{`;

/**
 * The metadata of the document the segments make: the size counts every byte the assembled document
 * (readSnapshotState) has, so it is the same number a full dump of the same rows reports.
 */
export const metadataFor = (
  timestamp: string,
  snapshotId: string,
  segments: Record<SnapshotSection, ManifestSegment[]>,
): SnapshotMetadata => {
  let bytes = Buffer.byteLength(documentHeader(timestamp, snapshotId));
  for (const [index, { section }] of SNAPSHOT_TABLES.entries()) {
    bytes += Buffer.byteLength(`${index === 0 ? '' : ','}${JSON.stringify(section)}:[`) + 1;
    const filled = segments[section].flatMap((segment) => segment.pieces).filter((piece) => piece.rows > 0);
    // Each piece's rows without its brackets, joined by commas.
    for (const piece of filled) bytes += piece.bytes - 2;
    bytes += Math.max(0, filled.length - 1);
  }
  return closingFor(bytes, countsOf(segments)).metadata;
};

/** What the pieces a manifest names take in the store. */
export const storedBytesOf = (segments: Record<SnapshotSection, ManifestSegment[]>): number =>
  Object.values(segments)
    .flatMap((list) => list.flatMap((segment) => segment.pieces))
    .reduce((sum, piece) => sum + (piece.stored ?? piece.bytes), 0);

/** Every piece in document order: the tables in order, each table's segments by number. */
export const piecesInOrder = (manifest: SnapshotManifest): { section: SnapshotSection; piece: SegmentPiece }[] =>
  SNAPSHOT_TABLES.flatMap(({ section }) =>
    manifest.segments[section].flatMap((segment) => segment.pieces.map((piece) => ({ section, piece }))),
  );
