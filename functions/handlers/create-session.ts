import { createSession } from '../core/sessions';
import { apiHandler } from '../http/api-handler';
import { requestSchemas } from '../http/request-schemas';

export const handler = apiHandler({
  ...requestSchemas['create-session'],
  message: 'Session created',
  run: ({ body }, deps) => createSession(deps, body),
});
