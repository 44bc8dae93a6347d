import { getLatestSnapshot } from '../core/snapshots/read-snapshots';
import { apiHandler } from '../http/api-handler';
import { snapshotMessage } from '../http/snapshot-messages';

export const handler = apiHandler({
  message: snapshotMessage('Latest snapshot retrieved successfully'),
  run: (_request, deps) => getLatestSnapshot(deps),
});
