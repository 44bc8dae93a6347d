import * as z from '../validation';
import { SnapshotId } from '../core/identifiers';
import { getSnapshot } from '../core/snapshots/read-snapshots';
import { apiHandler } from '../http/api-handler';
import { snapshotMessage } from '../http/snapshot-messages';

export const handler = apiHandler({
  params: z.object({ snapshot_id: SnapshotId }),
  message: snapshotMessage('Snapshot retrieved successfully'),
  run: ({ params }, deps) => getSnapshot(deps, params.snapshot_id),
});
