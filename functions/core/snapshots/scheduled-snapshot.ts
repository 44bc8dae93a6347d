/**
 * The scheduled run (EventBridge rate(1 minute) on AWS, the local scheduler every
 * SNAPSHOT_INTERVAL_SECONDS): one snapshot named by the event's time, then retention when this
 * deployment enforces it itself.
 *
 * Named by the event's time, a duplicate delivery or a retry of the same event finds its snapshot
 * already there and is skipped, so each tick yields at most one snapshot. The advisory lock skips a
 * run that would overlap one still going (a Lambda can be invoked again before the last finished).
 * A minute in which the change marker did not move does not open the database, so Aurora can pause.
 * With nothing to build on, minutes continue a stepwise build and publish when it is done (`building`).
 */
import type { Dependencies } from '../dependencies';
import { type CleanupReport, cleanupOldSnapshots } from './cleanup';
import type { BuildBudget } from './first-snapshot-build';
import { type SnapshotOutcome, takeSnapshot } from './take-snapshot';

/**
 * How long quiet minutes may go without reading the database: bounds how long a write whose marker was
 * lost (a crash between its commit and the marker's put) stays out of the snapshots. An hour lets an
 * idle Aurora Serverless v2 cluster pause (after 5 idle minutes) for 55 minutes of each hour.
 */
export const QUIET_DATABASE_CHECK_MS = 60 * 60 * 1000;

export interface ScheduledSnapshotReport {
  snapshot: SnapshotOutcome;
  /** Null when the bucket's lifecycle rule enforces retention instead. */
  cleanup: CleanupReport | null;
}

export const runScheduledSnapshot = async (
  deps: Pick<Dependencies, 'sql' | 'store' | 'clock' | 'logger' | 'snapshots'>,
  scheduledAt: Date,
  budget?: BuildBudget,
): Promise<ScheduledSnapshotReport> => {
  const snapshot = await takeSnapshot(deps, {
    instant: scheduledAt,
    exclusive: true,
    quietFor: QUIET_DATABASE_CHECK_MS,
    retentionDays: deps.snapshots.retentionDays,
    ...(budget ? { budget } : {}),
  });
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
