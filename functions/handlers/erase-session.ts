import { eraseSession } from '../core/lifecycle/session-erasure';
import { apiHandler } from '../http/api-handler';
import { requestSchemas } from '../http/request-schemas';

export const handler = apiHandler({
  ...requestSchemas['erase-session'],
  message: 'Session erased',
  run: ({ params }, deps) => eraseSession(deps, params.session_id),
});
