import { z } from 'zod';
import { SessionId } from '../core/identifiers';
import { createSession } from '../core/sessions';
import { apiHandler } from '../http/api-handler';
import { Metadata } from '../http/schemas';

export const CreateSessionBody = z.strictObject({
  session_id: SessionId.optional(),
  candidate: z.string().max(256).nullable().optional(),
  interviewer: z.string().max(256).nullable().optional(),
  metadata: Metadata.optional(),
});

export const handler = apiHandler({
  body: CreateSessionBody,
  status: 201,
  message: 'Session created',
  run: ({ body }, deps) => createSession(deps, body),
});
