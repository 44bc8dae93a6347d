import { recordCodeHistory } from '../core/code-history';
import { apiHandler } from '../http/api-handler';
import { requestSchemas } from '../http/request-schemas';

export const handler = apiHandler({
  ...requestSchemas['record-code-history'],
  message: 'Code history entry recorded',
  run: ({ params, body }, deps) => recordCodeHistory(deps, params.session_id, body),
});
