/** GET /health/deep, authorized: probes the database and the object store once each; 503 naming what failed. */
import { checkHealth } from '../core/health';
import { apiHandler } from '../http/api-handler';
import { requestSchemas } from '../http/request-schemas';

export const handler = apiHandler({
  ...requestSchemas['health-deep'],
  message: 'Service is healthy',
  run: (_request, deps) => checkHealth(deps),
});
