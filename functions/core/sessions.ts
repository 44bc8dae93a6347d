import { randomUUID } from 'node:crypto';
import type { Dependencies } from './dependencies';
import { conflict, notFound } from './errors';
import { asJsonb, jsonValue } from './rows';

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

/**
 * Metadata is at most 8 KiB of JSON in a request, but jsonb prints numbers in full (1e300 is 301 digits),
 * so a row read whole can pass the Data API's 64 KB record limit. Its text is read in slices of this many
 * characters: at most 4 bytes each in UTF-8, 12 in the Data API's JSON (two \u escapes), so a slice stays
 * under 48 KB, and this many slices per statement stay under its 1 MiB response limit.
 */
const METADATA_SLICE_CHARS = 4096;
const METADATA_SLICES_PER_STATEMENT = 16;

const toSession = (row: Record<string, unknown>, metadata: unknown): Session => ({
  session_id: String(row.session_id),
  candidate: (row.candidate as string | null) ?? null,
  interviewer: (row.interviewer as string | null) ?? null,
  metadata: jsonValue(metadata),
  created_at: String(row.created_at),
});

/** Creates a session; a generated id when none is given; a conflict when the id is taken. */
export const createSession = async ({ sql }: Pick<Dependencies, 'sql'>, input: NewSession): Promise<Session> => {
  const sessionId = input.session_id ?? randomUUID();
  const metadata = input.metadata ?? {};
  // Metadata is not sent back (see METADATA_SLICE_CHARS): the response has it as jsonb keeps it.
  const [row] = await sql.query(
    `INSERT INTO sessions (session_id, candidate, interviewer, metadata)
     VALUES (:session_id, :candidate, :interviewer, CAST(:metadata AS jsonb))
     ON CONFLICT (session_id) DO NOTHING
     RETURNING session_id, candidate, interviewer, created_at`,
    {
      session_id: sessionId,
      candidate: input.candidate ?? null,
      interviewer: input.interviewer ?? null,
      metadata: JSON.stringify(metadata),
    },
  );
  if (!row) throw conflict('Session already exists', `A session with id "${sessionId}" already exists`);
  return toSession(row, asJsonb(metadata));
};

export const getSession = async ({ sql }: Pick<Dependencies, 'sql'>, sessionId: string): Promise<Session> => {
  const missing = () => notFound('Session not found', `No session with id "${sessionId}"`);
  const [row] = await sql.query(
    `SELECT session_id, candidate, interviewer, created_at,
       substr(CAST(metadata AS text), 1, CAST(:slice AS integer)) AS metadata_head, length(CAST(metadata AS text)) AS metadata_chars
     FROM sessions WHERE session_id = :session_id`,
    { session_id: sessionId, slice: METADATA_SLICE_CHARS },
  );
  if (!row) throw missing();
  let metadata = String(row.metadata_head);
  const chars = Number(row.metadata_chars);
  // Rarely more than one slice; metadata is never updated, so the slices are of one value.
  for (let from = METADATA_SLICE_CHARS + 1; from <= chars; from += METADATA_SLICE_CHARS * METADATA_SLICES_PER_STATEMENT) {
    const slices = await sql.query(
      `SELECT substr(m.text, g.from_char, CAST(:slice AS integer)) AS slice
       FROM (SELECT CAST(metadata AS text) AS text FROM sessions WHERE session_id = :session_id) m,
         generate_series(CAST(:from_char AS integer), LEAST(length(m.text), CAST(:to_char AS integer)), CAST(:slice AS integer)) AS g (from_char)
       ORDER BY g.from_char`,
      {
        session_id: sessionId,
        slice: METADATA_SLICE_CHARS,
        from_char: from,
        to_char: from + METADATA_SLICE_CHARS * METADATA_SLICES_PER_STATEMENT - 1,
      },
    );
    const expected = Math.min(METADATA_SLICES_PER_STATEMENT, Math.ceil((chars - from + 1) / METADATA_SLICE_CHARS));
    if (slices.length !== expected) throw missing(); // deleted meanwhile
    metadata += slices.map((slice) => String(slice.slice)).join('');
  }
  return toSession(row, metadata);
};
