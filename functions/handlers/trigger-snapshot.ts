import { triggerSnapshot } from '../core/snapshots/trigger-snapshot';
import { apiHandler } from '../http/api-handler';
import { snapshotMessage } from '../http/snapshot-messages';

export const handler = apiHandler({
  status: 201,
  message: snapshotMessage('Snapshot created successfully'),
  run: (_request, deps) => triggerSnapshot(deps),
});
