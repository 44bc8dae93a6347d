import { checkHealth } from '../core/health';
import { apiHandler } from '../http/api-handler';

export const handler = apiHandler({
  message: 'Service is healthy',
  run: (_request, deps) => checkHealth(deps),
});
