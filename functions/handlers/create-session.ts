import * as z from '../validation';
import { SessionId } from '../core/identifiers';
import { createSession } from '../core/sessions';
import { apiHandler } from '../http/api-handler';
import { Metadata } from '../http/schemas';

export const CreateSessionBody = z.strictObject({
  session_id: z.optional(SessionId),
  candidate: z.optional(z.nullable(z.string().check(z.maxLength(256)))),
  interviewer: z.optional(z.nullable(z.string().check(z.maxLength(256)))),
  metadata: z.optional(Metadata),
});

export const handler = apiHandler({
  body: CreateSessionBody,
  status: 201,
  message: 'Session created',
  run: ({ body }, deps) => createSession(deps, body),
});
