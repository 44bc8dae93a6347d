import { getSession } from '../core/sessions';
import { apiHandler } from '../http/api-handler';
import { SessionPath } from '../http/schemas';

export const handler = apiHandler({
  params: SessionPath,
  message: 'Session found',
  run: ({ params }, deps) => getSession(deps, params.session_id),
});
