/**
 * Takes one snapshot: open a read-only REPEATABLE READ transaction, so all four tables are read at one
 * point in time, and stream the document into the store under the instant's key, created only if
 * absent, so a snapshot is never overwritten and no reader ever sees a partial one.
 */
import type { Dependencies } from '../dependencies';
import { snapshotIdFor, snapshotKeyFor } from '../keys';
import { ObjectAlreadyExistsError } from '../ports/object-store';
import type { SqlRunner } from '../ports/sql';
import { type DocumentProgress, type RowCounts, type SnapshotMetadata, snapshotDocument, snapshotTimestamp } from './snapshot-document';
import { countRows, DEFAULT_PAGE_LIMITS, type PageLimits, tableReaders } from './snapshot-tables';

export type SnapshotOutcome =
  | { status: 'taken'; snapshot_id: string; key: string; metadata: SnapshotMetadata }
  /** `exists`: this second's snapshot is already there; `busy`: another exclusive run holds the lock. */
  | { status: 'skipped'; snapshot_id: string; key: string; reason: 'exists' | 'busy' };

export interface TakeSnapshotOptions {
  /** The instant the snapshot is named by (whole seconds). */
  instant: Date;
  /** Skip, rather than run beside, another exclusive run (the scheduled ones) that is still going. */
  exclusive?: boolean;
  pageLimits?: PageLimits;
}

/** Any fixed number: the transaction-scoped advisory lock that keeps scheduled runs from overlapping. */
const SCHEDULED_SNAPSHOT_LOCK = 7_203_614_451;

const SNAPSHOT_CONTENT_TYPE = 'application/json';

/** Kept with the object, so a snapshot too big to return inline can still be described without reading it. */
export const countsAsObjectMetadata = (counts: RowCounts): Record<string, string> => ({
  'total-sessions': String(counts.sessions),
  'total-audio-chunks': String(counts.audio_chunks),
  'total-code-entries': String(counts.code_history),
  'total-executions': String(counts.execution_results),
});

const tryLock = async (tx: SqlRunner): Promise<boolean> => {
  const [row] = await tx.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock(CAST(:lock AS bigint)) AS locked', {
    lock: SCHEDULED_SNAPSHOT_LOCK,
  });
  return row?.locked === true;
};

export const takeSnapshot = async (
  { sql, store, logger }: Pick<Dependencies, 'sql' | 'store' | 'logger'>,
  options: TakeSnapshotOptions,
): Promise<SnapshotOutcome> => {
  const snapshotId = snapshotIdFor(options.instant);
  const key = snapshotKeyFor(snapshotId);
  const skipped = (reason: 'exists' | 'busy'): SnapshotOutcome => ({ status: 'skipped', snapshot_id: snapshotId, key, reason });
  // Cheap early exit; the create-if-absent put below is what actually guarantees no overwrite.
  if (await store.head(key)) return skipped('exists');

  const outcome = await sql.transaction(
    async (tx): Promise<SnapshotOutcome> => {
      if (options.exclusive && !(await tryLock(tx))) return skipped('busy');
      const expected = await countRows(tx);
      const readers = await tableReaders(tx, options.pageLimits ?? DEFAULT_PAGE_LIMITS);
      const progress: DocumentProgress = { counts: { sessions: 0, audio_chunks: 0, code_history: 0, execution_results: 0 } };
      const header = { timestamp: snapshotTimestamp(options.instant), snapshot_id: snapshotId };
      try {
        await store.putStream(key, verifiedAgainst(expected, snapshotDocument(tx, readers, header, progress), progress), {
          ifAbsent: true,
          contentType: SNAPSHOT_CONTENT_TYPE,
          metadata: countsAsObjectMetadata(expected),
        });
      } catch (error) {
        if (error instanceof ObjectAlreadyExistsError) return skipped('exists');
        throw error;
      }
      return { status: 'taken', snapshot_id: snapshotId, key, metadata: progress.metadata! };
    },
    { isolation: 'repeatable read', readOnly: true },
  );
  if (outcome.status === 'taken') logger.info('Snapshot taken', { snapshotId, key, ...outcome.metadata });
  else logger.info('Snapshot skipped', { snapshotId, reason: outcome.reason });
  return outcome;
};

/**
 * Passes the document through and, before its last piece, checks that the rows streamed match the
 * counts read first in the same transaction: if an adapter ever ran the pages outside the snapshot's
 * transaction the upload fails instead of publishing an inconsistent file.
 */
async function* verifiedAgainst(expected: RowCounts, pieces: AsyncGenerator<Buffer>, progress: DocumentProgress) {
  for await (const piece of pieces) {
    if (progress.metadata) {
      const mismatched = (Object.keys(expected) as (keyof RowCounts)[]).filter((section) => expected[section] !== progress.counts[section]);
      if (mismatched.length > 0) throw new Error(`snapshot rows changed while being read: ${mismatched.join(', ')}`);
    }
    yield piece;
  }
}
