import { type ReleasedHold, releaseHold } from '../core/lifecycle/session-holds';
import { apiHandler } from '../http/api-handler';
import { requestSchemas } from '../http/request-schemas';

export const handler = apiHandler({
  ...requestSchemas['release-session-hold'],
  message: (result: ReleasedHold) => (result.released ? 'Legal hold released' : 'Session has no legal hold'),
  run: ({ params }, deps) => releaseHold(deps, params.session_id),
});
