import type { Dependencies } from './dependencies';
import { notFound } from './errors';
import { asJsonb, asStoredText } from './rows';

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
  // Only the small columns come back: the Data API refuses a record over 64 KB, which 48 KiB of code
  // (escaped once more in its JSON) or 8 KiB of metadata (jsonb prints 1e300 as 301 digits) can pass.
  // The rest is the input as the columns hold it.
  const [row] = await sql.query(
    `INSERT INTO code_history (session_id, code, language, metadata)
     SELECT session_id, :code, :language, CAST(:metadata AS jsonb) FROM sessions WHERE session_id = :session_id
     RETURNING id, session_id, language, created_at`,
    { session_id: sessionId, code: entry.code, language: entry.language, metadata: JSON.stringify(entry.metadata ?? {}) },
  );
  if (!row) throw notFound('Session not found', `No session with id "${sessionId}"`);
  return {
    id: String(row.id),
    session_id: String(row.session_id),
    code: asStoredText(entry.code),
    language: String(row.language),
    metadata: asJsonb(entry.metadata ?? {}),
    created_at: String(row.created_at),
  };
};
