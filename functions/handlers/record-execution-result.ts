import * as z from '../validation';
import { recordExecutionResult } from '../core/execution-results';
import { RowId } from '../core/identifiers';
import { apiHandler } from '../http/api-handler';
import { boundedText, Metadata, SessionPath } from '../http/schemas';

export const ExecutionResultBody = z.strictObject({
  code_history_id: z.optional(z.nullable(RowId)),
  stdout: z._default(boundedText(24 * 1024), ''),
  stderr: z._default(boundedText(24 * 1024), ''),
  exit_code: z.int().check(z.minimum(-2147483648), z.maximum(2147483647)),
  duration_ms: z.optional(z.nullable(z.number().check(z.nonnegative(), z.maximum(86_400_000)))),
  metadata: z.optional(Metadata),
});

export const handler = apiHandler({
  params: SessionPath,
  body: ExecutionResultBody,
  status: 201,
  message: 'Execution result recorded',
  run: ({ params, body }, deps) => recordExecutionResult(deps, params.session_id, body),
});
