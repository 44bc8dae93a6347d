/**
 * Segment pieces in the store: a segment's rows read in the snapshot's transaction and written as
 * immutable pieces of at most PIECE_BYTES, and pieces near the end of their life copied to fresh keys so
 * that the bucket's age-based expiry never removes a piece a kept manifest still names.
 */
import { randomBytes } from 'node:crypto';
import { snapshotSegmentKeyFor, snapshotSegmentKeyParts, snapshotSegmentWrittenAt } from '../keys';
import type { ObjectStore } from '../ports/object-store';
import type { SqlRunner } from '../ports/sql';
import { GZIP_CONTENT_TYPE, GZIP_EXTENSION, gzipText } from './compression';
import { type ManifestSegment, PIECE_BYTES, type SegmentPiece } from './manifest';
import type { KeyRange, PageCursor, SnapshotSection, TableReader } from './snapshot-tables';

const DAY_MS = 24 * 60 * 60 * 1000;

/** Puts in flight at once while a snapshot writes its pieces. */
const MAX_PUTS_IN_FLIGHT = 8;

export interface PieceWork {
  rowsRead: number;
  /** Row JSON read from the database, UTF-8 bytes. */
  bytesRead: number;
  piecesWritten: number;
  /** Bytes put in the store (gzipped). */
  bytesWritten: number;
  /** The same pieces as JSON, before compression. */
  jsonBytesWritten: number;
}

export const noPieceWork = (): PieceWork => ({ rowsRead: 0, bytesRead: 0, piecesWritten: 0, bytesWritten: 0, jsonBytesWritten: 0 });

/**
 * A manifest names no piece written more than this many days before it: older ones are copied to fresh
 * keys first (refreshPieces). Short, because every piece a minute writes is kept for as long as some
 * manifest may name it: the state is copied once a day, and pieces live R + 2 days rather than 2R + 1
 * (at 0.1 % of the rows a minute, 9 days of changes cost more than 9 copies of the gzipped state).
 */
export const PIECE_REFRESH_DAYS = 1;

/**
 * How long a piece may live in the bucket: a manifest is kept `retentionDays` and names pieces at most
 * PIECE_REFRESH_DAYS old, so a piece is never needed past the sum; a day of slack for the lifecycle
 * rule's rounding. The bucket's lifecycle rule (lib/storage.ts) and the local sweeper both use it.
 */
export const segmentLifetimeDays = (retentionDays: number): number => retentionDays + PIECE_REFRESH_DAYS + 1;

const nonce = () => randomBytes(6).toString('hex');

/** Writes pieces with a bounded number of puts in flight. */
export class PieceWriter {
  private readonly inFlight = new Set<Promise<unknown>>();
  /** The first put that failed: a manifest must never name a piece that was not written. */
  private failed: { error: unknown } | undefined;
  readonly work: PieceWork = noPieceWork();

  constructor(
    private readonly store: ObjectStore,
    private readonly writtenAt: Date,
  ) {}

  /**
   * Queues one piece; its `stored` size is filled in once it is gzipped, which happens in the thread pool
   * beside the reads that follow (drain() waits for it, before any manifest is built).
   */
  async write(section: SnapshotSection, segment: number, index: number, rows: readonly string[], lastKey: string): Promise<SegmentPiece> {
    const json = `[${rows.join(',')}]`;
    const bytes = Buffer.byteLength(json);
    const key = snapshotSegmentKeyFor(this.writtenAt, section, segment, index, nonce());
    while (this.inFlight.size >= MAX_PUTS_IN_FLIGHT) await Promise.race(this.inFlight);
    if (this.failed) await this.drain();
    const piece: SegmentPiece = { key, rows: rows.length, bytes, last_key: lastKey };
    const tracked: Promise<unknown> = gzipText(json)
      .then(async (body) => {
        await this.store.put(key, body, { ifAbsent: true, contentType: GZIP_CONTENT_TYPE });
        piece.stored = body.length;
        this.work.bytesWritten += body.length;
      })
      .catch((error: unknown) => {
        this.failed ??= { error };
      })
      .finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
    this.work.piecesWritten += 1;
    this.work.jsonBytesWritten += bytes;
    return piece;
  }

  /** Waits for every put; throws the first failure. */
  async drain(): Promise<void> {
    await this.settle();
    if (this.failed) throw this.failed.error;
  }

  /** Waits for every put, failed or not: nothing is left writing once a run has ended. */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }
}

/**
 * Reads the rows of one segment in `tx`, only those with keys in `range` when given, and writes them as
 * pieces of at most PIECE_BYTES (numbered from `firstIndex` in their keys); none when there is no row.
 */
export const writeRange = async (
  tx: SqlRunner,
  reader: TableReader,
  segment: number,
  writer: PieceWriter,
  range?: KeyRange,
  firstIndex = 0,
): Promise<SegmentPiece[]> => {
  const pieces: SegmentPiece[] = [];
  let rows: string[] = [];
  let lastKey = '';
  let bytes = 2;
  let after: PageCursor | null = null;
  const flush = async () => {
    pieces.push(await writer.write(reader.table.section, segment, firstIndex + pieces.length, rows, lastKey));
    rows = [];
    bytes = 2;
  };
  do {
    const page = await reader.page(tx, after, segment, range);
    for (const [index, row] of page.rows.entries()) {
      const rowBytes = Buffer.byteLength(row);
      writer.work.rowsRead += 1;
      writer.work.bytesRead += rowBytes;
      if (rows.length > 0 && bytes + 1 + rowBytes > PIECE_BYTES) await flush();
      bytes += rowBytes + (rows.length > 0 ? 1 : 0);
      rows.push(row);
      lastKey = page.keys[index]!;
    }
    after = page.nextAfter;
  } while (after);
  if (rows.length > 0) await flush();
  return pieces;
};

/** Reads one segment's rows in `tx` and writes them as pieces; null when the segment holds no row any more. */
export const writeSegment = async (
  tx: SqlRunner,
  reader: TableReader,
  segment: number,
  writer: PieceWriter,
): Promise<ManifestSegment | null> => {
  const pieces = await writeRange(tx, reader, segment, writer);
  return pieces.length === 0 ? null : { segment, pieces };
};

export interface RefreshOptions {
  now: Date;
  /** Kept for callers; pieces are refreshed by PIECE_REFRESH_DAYS whatever the retention. */
  retentionDays: number;
}

/**
 * Copies to fresh keys the pieces in the last quarter of PIECE_REFRESH_DAYS, oldest first and a bounded
 * number per run, so that pieces written at once are refreshed over hours rather than in one minute; a
 * piece already PIECE_REFRESH_DAYS old is always copied. Needs no database.
 */
export const refreshPieces = async (
  store: ObjectStore,
  segments: Record<SnapshotSection, ManifestSegment[]>,
  { now }: RefreshOptions,
): Promise<{ segments: Record<SnapshotSection, ManifestSegment[]>; refreshed: number }> => {
  const soon = now.getTime() - 0.75 * PIECE_REFRESH_DAYS * DAY_MS;
  const due = now.getTime() - PIECE_REFRESH_DAYS * DAY_MS;
  const all = Object.values(segments).flatMap((list) => list.flatMap((segment) => segment.pieces));
  const aging = all
    .map((piece) => ({ piece, writtenAt: snapshotSegmentWrittenAt(piece.key)?.getTime() ?? 0 }))
    .filter(({ writtenAt }) => writtenAt < soon)
    .sort((a, b) => a.writtenAt - b.writtenAt);
  // Twice the pace that refreshes every piece within the window (a quarter of the refresh age, in minutes).
  const budget = Math.max(16, Math.ceil((2 * all.length) / (PIECE_REFRESH_DAYS * 360)));
  const chosen = new Set(aging.filter(({ writtenAt }, index) => writtenAt < due || index < budget).map(({ piece }) => piece.key));
  if (chosen.size === 0) return { segments, refreshed: 0 };
  const copies = new Map<string, SegmentPiece>();
  for (const key of chosen) {
    const stored = await store.get(key);
    const parts = snapshotSegmentKeyParts(key);
    if (!stored || !parts) throw new Error(`snapshot piece ${key} is missing`);
    const fresh = snapshotSegmentKeyFor(now, parts.section, parts.segment, parts.piece, nonce());
    // A plain piece of the format before compression is gzipped on its way to the fresh key.
    const body = key.endsWith(GZIP_EXTENSION) ? stored.body : await gzipText(stored.body);
    await store.put(fresh, body, { ifAbsent: true, contentType: GZIP_CONTENT_TYPE });
    const old = all.find((piece) => piece.key === key)!;
    copies.set(key, { ...old, key: fresh, stored: body.length });
  }
  const refreshedSegments = Object.fromEntries(
    Object.entries(segments).map(([section, list]) => [
      section,
      list.map((segment) => ({ ...segment, pieces: segment.pieces.map((piece) => copies.get(piece.key) ?? piece) })),
    ]),
  ) as Record<SnapshotSection, ManifestSegment[]>;
  return { segments: refreshedSegments, refreshed: copies.size };
};
