/**
 * The scheduled run (EventBridge rate(1 minute) on AWS, the local scheduler every
 * SNAPSHOT_INTERVAL_SECONDS): one snapshot named by the event's time, then retention when this
 * deployment enforces it itself.
 *
 * Named by the event's time, a duplicate delivery or a retry of the same event finds its snapshot
 * already there and is skipped, so each tick yields at most one snapshot. The advisory lock skips a
 * run that would overlap one still going (a Lambda can be invoked again before the last finished).
 */
import type { Dependencies } from '../dependencies';
import { type CleanupReport, cleanupOldSnapshots } from './cleanup';
import { type SnapshotOutcome, takeSnapshot } from './take-snapshot';

export interface ScheduledSnapshotReport {
  snapshot: SnapshotOutcome;
  /** Null when the bucket's lifecycle rule enforces retention instead. */
  cleanup: CleanupReport | null;
}

export const runScheduledSnapshot = async (
  deps: Pick<Dependencies, 'sql' | 'store' | 'clock' | 'logger' | 'snapshots'>,
  scheduledAt: Date,
): Promise<ScheduledSnapshotReport> => {
  const snapshot = await takeSnapshot(deps, { instant: scheduledAt, exclusive: true });
  if (snapshot.status === 'skipped') {
    deps.logger.warn('Scheduled snapshot skipped', {
      snapshotId: snapshot.snapshot_id,
      reason: snapshot.reason === 'busy' ? 'the previous scheduled run has not finished' : 'this instant was already snapshotted',
    });
  }
  // Only after a run that did not fail: while snapshots fail, the last good ones are kept.
  const cleanup = deps.snapshots.retentionEnforcedBy === 'scheduler' ? await cleanupOldSnapshots(deps, deps.snapshots.retentionDays) : null;
  return { snapshot, cleanup };
};
