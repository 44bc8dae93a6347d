/**
 * The whole state read the way snapshots were taken before segments (issue 16): every row of the four
 * tables in key order, as one document. Tests compare what a snapshot gives against it, in the same
 * transaction, so any difference is the snapshot's.
 */
import type { SqlRunner } from '../../functions/core/ports/sql';
import { type DocumentProgress, type SnapshotDocument, snapshotDocument } from '../../functions/core/snapshots/snapshot-document';
import { DEFAULT_PAGE_LIMITS, type PageLimits, tableReaders } from '../../functions/core/snapshots/snapshot-tables';

export const fullDocument = async (
  tx: SqlRunner,
  header: { timestamp: string; snapshot_id: string },
  limits: PageLimits = DEFAULT_PAGE_LIMITS,
): Promise<{ text: string; document: SnapshotDocument }> => {
  const progress: DocumentProgress = { counts: { sessions: 0, audio_chunks: 0, code_history: 0, execution_results: 0 } };
  const pieces: Buffer[] = [];
  for await (const piece of snapshotDocument(tx, await tableReaders(tx, limits), header, progress)) pieces.push(piece);
  const text = Buffer.concat(pieces).toString('utf8');
  return { text, document: JSON.parse(text) as SnapshotDocument };
};

/** A section's rows in key order, whatever order a snapshot gave them in (sessions come by segment). */
export const byKey = (rows: readonly Record<string, unknown>[], key: string) =>
  [...rows].sort((a, b) => {
    const left = String(a[key]);
    const right = String(b[key]);
    if (/^\d+$/.test(left) && /^\d+$/.test(right)) return Number(BigInt(left) - BigInt(right) > 0n) - Number(BigInt(left) < BigInt(right));
    return left < right ? -1 : left > right ? 1 : 0;
  });
