import { getSession } from '../core/sessions';
import { apiHandler } from '../http/api-handler';
import { requestSchemas } from '../http/request-schemas';

export const handler = apiHandler({
  ...requestSchemas['get-session'],
  message: 'Session found',
  run: ({ params }, deps) => getSession(deps, params.session_id),
});
