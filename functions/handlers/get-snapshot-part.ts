import { getSnapshotPart } from '../core/snapshots/read-snapshots';
import { apiHandler } from '../http/api-handler';
import { requestSchemas } from '../http/request-schemas';

export const handler = apiHandler({
  ...requestSchemas['get-snapshot-part'],
  message: 'Snapshot part retrieved successfully',
  run: ({ params }, deps) => getSnapshotPart(deps, params.snapshot_id, params.part),
});
