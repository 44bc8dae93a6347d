/**
 * Retention, the seed's `cleanup_old_snapshots(keep_days)`: removes every snapshot named by an instant
 * more than `keepDays` before now. Keys sort by time, so the walk stops at the first one kept.
 * Locally the scheduler runs it after each snapshot; on AWS the bucket's lifecycle rule does the same job.
 */
import type { Dependencies } from '../dependencies';
import { SNAPSHOT_SEGMENTS_PREFIX, SNAPSHOTS_PREFIX, snapshotIdFromKey, snapshotInstantOf, snapshotSegmentWrittenAt } from '../keys';
import { segmentLifetimeDays } from './segment-pieces';

export interface CleanupReport {
  deleted_count: number;
  /** Segment pieces written before segmentLifetimeDays(keepDays) ago, removed as the bucket's rule would. */
  pieces_deleted: number;
  /** Snapshots named before this instant were removed. */
  cutoff: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export const cleanupOldSnapshots = async (
  { store, clock, logger }: Pick<Dependencies, 'store' | 'clock' | 'logger'>,
  keepDays: number,
): Promise<CleanupReport> => {
  if (!(keepDays > 0)) throw new RangeError('keepDays must be positive');
  const cutoff = new Date(clock.now().getTime() - keepDays * DAY_MS);
  const deleted = await deleteWrittenBefore(
    store,
    `${SNAPSHOTS_PREFIX}snapshot_`,
    (key) => {
      const snapshotId = snapshotIdFromKey(key);
      return snapshotId ? snapshotInstantOf(snapshotId) : null;
    },
    cutoff,
  );
  const pieceCutoff = new Date(clock.now().getTime() - segmentLifetimeDays(keepDays) * DAY_MS);
  const piecesDeleted = await deleteWrittenBefore(store, SNAPSHOT_SEGMENTS_PREFIX, snapshotSegmentWrittenAt, pieceCutoff);
  const report = { deleted_count: deleted, cutoff: cutoff.toISOString(), pieces_deleted: piecesDeleted };
  if (deleted > 0) logger.info('Old snapshots removed', { ...report });
  return report;
};

/**
 * Deletes the objects under `prefix` whose key names an instant before `cutoff`, skipping keys that name
 * none. Keys sort by that instant (snapshots by theirs, pieces by their day), so the walk stops at the first kept.
 */
const deleteWrittenBefore = async (
  store: Dependencies['store'],
  prefix: string,
  instantOf: (key: string) => Date | null,
  cutoff: Date,
): Promise<number> => {
  let deleted = 0;
  let continuationToken: string | undefined;
  let reachedKept = false;
  do {
    const page = await store.list(prefix, { continuationToken });
    const expired: string[] = [];
    for (const object of page.objects) {
      const instant = instantOf(object.key);
      if (!instant) continue;
      if (instant >= cutoff) {
        reachedKept = true;
        break;
      }
      expired.push(object.key);
    }
    if (expired.length > 0) await store.delete(expired);
    deleted += expired.length;
    continuationToken = page.nextToken;
  } while (continuationToken && !reachedKept);
  return deleted;
};
