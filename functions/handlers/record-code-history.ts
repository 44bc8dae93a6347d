import { z } from 'zod';
import { recordCodeHistory } from '../core/code-history';
import { apiHandler } from '../http/api-handler';
import { boundedText, Metadata, SessionPath } from '../http/schemas';

export const CodeHistoryBody = z.strictObject({
  code: boundedText(48 * 1024),
  language: z.string().min(1).max(64),
  metadata: Metadata.optional(),
});

export const handler = apiHandler({
  params: SessionPath,
  body: CodeHistoryBody,
  status: 201,
  message: 'Code history entry recorded',
  run: ({ params, body }, deps) => recordCodeHistory(deps, params.session_id, body),
});
