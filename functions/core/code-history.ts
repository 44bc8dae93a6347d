import type { Dependencies } from './dependencies';
import { notFound } from './errors';
import { jsonValue } from './rows';

export interface CodeHistoryEntry {
  id: string;
  session_id: string;
  code: string;
  language: string;
  metadata: Record<string, unknown>;
  created_at: string;
}

export interface NewCodeHistoryEntry {
  code: string;
  language: string;
  metadata?: Record<string, unknown> | undefined;
}

export const recordCodeHistory = async (
  { sql }: Pick<Dependencies, 'sql'>,
  sessionId: string,
  entry: NewCodeHistoryEntry,
): Promise<CodeHistoryEntry> => {
  const [row] = await sql.query(
    `INSERT INTO code_history (session_id, code, language, metadata)
     SELECT session_id, :code, :language, CAST(:metadata AS jsonb) FROM sessions WHERE session_id = :session_id
     RETURNING id, session_id, code, language, metadata, created_at`,
    { session_id: sessionId, code: entry.code, language: entry.language, metadata: JSON.stringify(entry.metadata ?? {}) },
  );
  if (!row) throw notFound('Session not found', `No session with id "${sessionId}"`);
  return {
    id: String(row.id),
    session_id: String(row.session_id),
    code: String(row.code),
    language: String(row.language),
    metadata: jsonValue(row.metadata),
    created_at: String(row.created_at),
  };
};
