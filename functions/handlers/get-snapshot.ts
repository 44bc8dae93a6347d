import { getSnapshot } from '../core/snapshots/read-snapshots';
import { apiHandler } from '../http/api-handler';
import { requestSchemas } from '../http/request-schemas';
import { snapshotMessage } from '../http/snapshot-messages';

export const handler = apiHandler({
  ...requestSchemas['get-snapshot'],
  message: snapshotMessage('Snapshot retrieved successfully'),
  run: ({ params }, deps) => getSnapshot(deps, params.snapshot_id),
});
