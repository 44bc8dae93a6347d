import { triggerSnapshot } from '../core/snapshots/trigger-snapshot';
import { apiHandler } from '../http/api-handler';
import { requestSchemas } from '../http/request-schemas';
import { snapshotMessage } from '../http/snapshot-messages';

export const handler = apiHandler({
  ...requestSchemas['trigger-snapshot'],
  message: snapshotMessage('Snapshot created successfully'),
  run: (_request, deps, invocation) => triggerSnapshot(deps, { timeLeftMs: () => invocation.getRemainingTimeInMillis() }),
});
