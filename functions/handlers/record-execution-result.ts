import { z } from 'zod';
import { recordExecutionResult } from '../core/execution-results';
import { RowId } from '../core/identifiers';
import { apiHandler } from '../http/api-handler';
import { boundedText, Metadata, SessionPath } from '../http/schemas';

export const ExecutionResultBody = z.strictObject({
  code_history_id: RowId.nullable().optional(),
  stdout: boundedText(24 * 1024).default(''),
  stderr: boundedText(24 * 1024).default(''),
  exit_code: z.number().int().min(-2147483648).max(2147483647),
  duration_ms: z.number().nonnegative().max(86_400_000).nullable().optional(),
  metadata: Metadata.optional(),
});

export const handler = apiHandler({
  params: SessionPath,
  body: ExecutionResultBody,
  status: 201,
  message: 'Execution result recorded',
  run: ({ params, body }, deps) => recordExecutionResult(deps, params.session_id, body),
});
