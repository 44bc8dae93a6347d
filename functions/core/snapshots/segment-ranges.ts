/**
 * Rewriting only what changed inside a segment (issue 16's storage bound). A segment's pieces cover
 * consecutive key ranges, each up to its `last_key`: a minute rereads and rewrites the ranges that hold a
 * changed key, and the rows past the last piece (new rows: identities grow) become a new piece, so a
 * minute writes about what changed instead of whole segments. Small pieces at the end are merged
 * MERGE_FANOUT at a time once they are of one size tier, which bounds a segment's pieces with each row
 * rewritten about once per tier (docs/snapshots.md, "Taking one").
 */
import type { SqlRunner } from '../ports/sql';
import type { ManifestSegment, SegmentPiece } from './manifest';
import { type PieceWriter, writeRange } from './segment-pieces';
import type { TableReader } from './snapshot-tables';

/** How many pieces of one size tier at a segment's end are merged into one (docs/snapshots.md says why 16). */
export const MERGE_FANOUT = 16;
/** Pieces this big are final: never merged again (a piece is still cut at PIECE_BYTES). */
export const FULL_PIECE_BYTES = 1024 * 1024;
/** The smallest tier: pieces under MERGE_FANOUT times this are tier 0. */
const TIER_BASE_BYTES = 1024;

/** Changed keys routed per statement (session ids are at most 128 characters: about 130 KB of JSON). */
const ROUTED_KEYS_PER_STATEMENT = 1000;

const tierOf = (piece: SegmentPiece, fanout: number): number =>
  piece.bytes >= FULL_PIECE_BYTES
    ? Number.POSITIVE_INFINITY
    : Math.floor(Math.log(Math.max(1, piece.bytes / TIER_BASE_BYTES)) / Math.log(fanout));

/**
 * For each changed key, the index of the piece whose range holds it, or -1 past the last piece, as the
 * database orders the keys (session ids by its collation), so pieces hold exactly what a range read gives.
 */
const piecesHolding = async (
  tx: SqlRunner,
  reader: TableReader,
  bounds: readonly string[],
  keys: ReadonlySet<string>,
): Promise<Set<number>> => {
  const type = reader.table.keyType === 'bigint' ? 'bigint' : 'text';
  const all = [...keys];
  const holding = new Set<number>();
  // Keys a statement at a time: session ids may be long, and a Data API request is at most 4 MiB.
  for (let start = 0; start < all.length; start += ROUTED_KEYS_PER_STATEMENT) {
    const found = await tx.query<{ piece: string | number | null }>(
      `SELECT DISTINCT (SELECT min(b.ordinality) FROM jsonb_array_elements_text(CAST(:bounds AS jsonb)) WITH ORDINALITY AS b(bound, ordinality)
                        WHERE CAST(k.changed AS ${type}) <= CAST(b.bound AS ${type})) AS piece
       FROM jsonb_array_elements_text(CAST(:keys AS jsonb)) AS k(changed)`,
      { bounds: JSON.stringify(bounds), keys: JSON.stringify(all.slice(start, start + ROUTED_KEYS_PER_STATEMENT)) },
    );
    for (const { piece } of found) holding.add(piece === null ? -1 : Number(piece) - 1);
  }
  return holding;
};

/**
 * The segment after the changes to `keys`, built on `base` (whose pieces all carry last_key): the ranges
 * holding a changed key reread and rewritten, rows past the last piece written as new pieces, then the
 * trailing pieces merged by tier. Null when the segment holds no row any more.
 */
export const rewriteChangedRanges = async (
  tx: SqlRunner,
  reader: TableReader,
  base: ManifestSegment,
  keys: ReadonlySet<string>,
  writer: PieceWriter,
  fanout = MERGE_FANOUT,
  /** The table's newest rows are in a later segment now: merge all its small trailing pieces into one. */
  seal = false,
): Promise<ManifestSegment | null> => {
  const { segment } = base;
  const bounds = base.pieces.map((piece) => piece.last_key!);
  const holding = await piecesHolding(tx, reader, bounds, keys);
  const pieces: SegmentPiece[] = [];
  for (const [index, piece] of base.pieces.entries()) {
    if (!holding.has(index)) {
      pieces.push(piece);
      continue;
    }
    const range = { above: index === 0 ? null : bounds[index - 1]!, upTo: bounds[index]! };
    pieces.push(...(await writeRange(tx, reader, segment, writer, range, pieces.length)));
  }
  if (holding.has(-1))
    pieces.push(...(await writeRange(tx, reader, segment, writer, { above: bounds.at(-1)!, upTo: null }, pieces.length)));
  // Merge the trailing pieces while the last `fanout` are of one tier; rereading their range gives
  // their rows as this transaction sees them, which is what they hold.
  for (;;) {
    const tail = pieces.slice(-fanout);
    const tier = tail[0] ? tierOf(tail[0], fanout) : Number.POSITIVE_INFINITY;
    if (tail.length < fanout || !Number.isFinite(tier) || tail.some((piece) => tierOf(piece, fanout) !== tier)) break;
    const before = pieces.length - fanout;
    const range = { above: before === 0 ? null : pieces[before - 1]!.last_key!, upTo: tail.at(-1)!.last_key! };
    pieces.splice(before, fanout, ...(await writeRange(tx, reader, segment, writer, range, before)));
  }
  // A segment no longer appended to would keep its tiers' leftovers for good, each named every minute.
  let small = pieces.length;
  while (seal && small > 0 && pieces[small - 1]!.bytes < FULL_PIECE_BYTES) small -= 1;
  if (seal && pieces.length - small >= 2) {
    const range = { above: small === 0 ? null : pieces[small - 1]!.last_key!, upTo: pieces.at(-1)!.last_key! };
    pieces.splice(small, pieces.length - small, ...(await writeRange(tx, reader, segment, writer, range, small)));
  }
  return pieces.length === 0 ? null : { segment, pieces };
};

/** Whether a segment can be rewritten range by range: every piece knows its last key. */
export const hasKeyRanges = (segment: ManifestSegment): boolean => segment.pieces.every((piece) => piece.last_key !== undefined);
