import * as z from '../validation';
import { recordCodeHistory } from '../core/code-history';
import { apiHandler } from '../http/api-handler';
import { boundedText, Metadata, SessionPath } from '../http/schemas';

export const CodeHistoryBody = z.strictObject({
  code: boundedText(48 * 1024),
  language: z.string().check(z.minLength(1), z.maxLength(64)),
  metadata: z.optional(Metadata),
});

export const handler = apiHandler({
  params: SessionPath,
  body: CodeHistoryBody,
  status: 201,
  message: 'Code history entry recorded',
  run: ({ params, body }, deps) => recordCodeHistory(deps, params.session_id, body),
});
