import { checkHealth } from '../core/health';
import { apiHandler } from '../http/api-handler';
import { requestSchemas } from '../http/request-schemas';

export const handler = apiHandler({
  ...requestSchemas.health,
  message: 'Service is healthy',
  run: (_request, deps) => checkHealth(deps),
});
