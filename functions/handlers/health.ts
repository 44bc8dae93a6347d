/**
 * GET /health, public: liveness only. It answers from the function itself and touches neither the
 * database nor the bucket, so an unauthenticated caller cannot make the service do work on its behalf
 * (and this function holds no Data API or bucket grant). The deep check is GET /health/deep.
 */
import { liveness } from '../core/health';
import { apiHandler } from '../http/api-handler';
import { requestSchemas } from '../http/request-schemas';

export const handler = apiHandler({
  ...requestSchemas.health,
  message: 'Service is healthy',
  run: async () => liveness(),
});
