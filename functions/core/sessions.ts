import { randomUUID } from 'node:crypto';
import type { Dependencies } from './dependencies';
import { conflict, notFound } from './errors';
import { jsonValue } from './rows';

export interface Session {
  session_id: string;
  candidate: string | null;
  interviewer: string | null;
  metadata: Record<string, unknown>;
  created_at: string;
}

export interface NewSession {
  session_id?: string | undefined;
  candidate?: string | null | undefined;
  interviewer?: string | null | undefined;
  metadata?: Record<string, unknown> | undefined;
}

const SESSION_COLUMNS = 'session_id, candidate, interviewer, metadata, created_at';

const toSession = (row: Record<string, unknown>): Session => ({
  session_id: String(row.session_id),
  candidate: (row.candidate as string | null) ?? null,
  interviewer: (row.interviewer as string | null) ?? null,
  metadata: jsonValue(row.metadata),
  created_at: String(row.created_at),
});

/** Creates a session; a generated id when none is given; a conflict when the id is taken. */
export const createSession = async ({ sql }: Pick<Dependencies, 'sql'>, input: NewSession): Promise<Session> => {
  const sessionId = input.session_id ?? randomUUID();
  const [row] = await sql.query(
    `INSERT INTO sessions (session_id, candidate, interviewer, metadata)
     VALUES (:session_id, :candidate, :interviewer, CAST(:metadata AS jsonb))
     ON CONFLICT (session_id) DO NOTHING
     RETURNING ${SESSION_COLUMNS}`,
    {
      session_id: sessionId,
      candidate: input.candidate ?? null,
      interviewer: input.interviewer ?? null,
      metadata: JSON.stringify(input.metadata ?? {}),
    },
  );
  if (!row) throw conflict('Session already exists', `A session with id "${sessionId}" already exists`);
  return toSession(row);
};

export const getSession = async ({ sql }: Pick<Dependencies, 'sql'>, sessionId: string): Promise<Session> => {
  const [row] = await sql.query(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE session_id = :session_id`, {
    session_id: sessionId,
  });
  if (!row) throw notFound('Session not found', `No session with id "${sessionId}"`);
  return toSession(row);
};
