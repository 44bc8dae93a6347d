import { recordExecutionResult } from '../core/execution-results';
import { apiHandler } from '../http/api-handler';
import { requestSchemas } from '../http/request-schemas';

export const handler = apiHandler({
  ...requestSchemas['record-execution-result'],
  message: 'Execution result recorded',
  run: ({ params, body }, deps) => recordExecutionResult(deps, params.session_id, body),
});
