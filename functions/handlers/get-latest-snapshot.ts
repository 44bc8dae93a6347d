import { getLatestSnapshot } from '../core/snapshots/read-snapshots';
import { apiHandler } from '../http/api-handler';
import { requestSchemas } from '../http/request-schemas';
import { snapshotMessage } from '../http/snapshot-messages';

export const handler = apiHandler({
  ...requestSchemas['get-latest-snapshot'],
  message: snapshotMessage('Latest snapshot retrieved successfully'),
  run: (_request, deps) => getLatestSnapshot(deps),
});
