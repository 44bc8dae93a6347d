/** A snapshot on demand: taken now, then returned as GET would return it. */
import type { Dependencies } from '../dependencies';
import { retryLater } from '../errors';
import type { BuildBudget } from './first-snapshot-build';
import { readSnapshot, type SnapshotView } from './read-snapshots';
import { takeSnapshot } from './take-snapshot';

/** When a first snapshot is being built, a scheduled minute continues it: ask again after one. */
export const BUILDING_RETRY_AFTER_SECONDS = 60;

/** Seconds after the request's own tried before giving up: each is one create-if-absent put that lost a race. */
const MAX_LATER_SECONDS = 30;

/**
 * Always a snapshot taken after the request arrived. Ids name whole seconds and a snapshot is never
 * replaced, so when this second's is taken (by the schedule or another trigger, possibly before the
 * request arrived) the new one is named by the next free second: its data is still read now, so it holds
 * the state as of a moment no later than its name.
 */
export const triggerSnapshot = async (
  deps: Pick<Dependencies, 'sql' | 'store' | 'clock' | 'logger'>,
  budget?: BuildBudget,
): Promise<SnapshotView> => {
  const arrived = Math.floor(deps.clock.now().getTime() / 1000) * 1000;
  for (let later = 0; later <= MAX_LATER_SECONDS; later += 1) {
    const outcome = await takeSnapshot(deps, { instant: new Date(arrived + later * 1000), ...(budget ? { budget } : {}) });
    if (outcome.status === 'skipped') continue;
    // With nothing to build on, the trigger did its share of the stepwise build; the schedule finishes it.
    if (outcome.status === 'building')
      throw retryLater(
        'Snapshot in progress',
        `The first snapshot is being built (${outcome.segmentsLeft} segments left); try again shortly`,
        BUILDING_RETRY_AFTER_SECONDS,
      );
    const view = await readSnapshot(deps, outcome.snapshot_id);
    // Only retention running with a retention shorter than a request could remove it this fast.
    if (!view) throw new Error('snapshot vanished right after it was written');
    return view;
  }
  throw new Error(`no free snapshot second within ${MAX_LATER_SECONDS} s of the request`);
};
