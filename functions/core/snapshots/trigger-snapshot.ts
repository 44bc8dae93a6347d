/** A snapshot on demand: taken now, then returned as GET would return it. */
import type { Dependencies } from '../dependencies';
import { conflict } from '../errors';
import { readSnapshot, type SnapshotView } from './read-snapshots';
import { takeSnapshot } from './take-snapshot';

/** Two triggers in the same second: the second gets a 409, since that second's snapshot already exists and is never replaced. */
export const triggerSnapshot = async (deps: Pick<Dependencies, 'sql' | 'store' | 'clock' | 'logger'>): Promise<SnapshotView> => {
  const outcome = await takeSnapshot(deps, { instant: deps.clock.now() });
  if (outcome.status === 'skipped') {
    throw conflict('Snapshot already exists', `A snapshot was already taken this second (${outcome.snapshot_id}); try again in a second`);
  }
  const view = await readSnapshot(deps, outcome.snapshot_id);
  // Only retention running with a retention shorter than a request could remove it this fast.
  if (!view) throw new Error('snapshot vanished right after it was written');
  return view;
};
