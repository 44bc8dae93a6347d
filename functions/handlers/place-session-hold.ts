import { placeHold } from '../core/lifecycle/session-holds';
import { apiHandler } from '../http/api-handler';
import { requestSchemas } from '../http/request-schemas';

export const handler = apiHandler({
  ...requestSchemas['place-session-hold'],
  message: 'Legal hold placed',
  run: ({ params, body }, deps) => placeHold(deps, params.session_id, body.reason),
});
