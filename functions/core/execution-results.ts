import type { Dependencies } from './dependencies';
import { notFound } from './errors';
import { asJsonb, asStoredText, nullableNumber } from './rows';

export interface ExecutionResult {
  id: string;
  session_id: string;
  code_history_id: string | null;
  stdout: string;
  stderr: string;
  exit_code: number;
  duration_ms: number | null;
  metadata: Record<string, unknown>;
  created_at: string;
}

export interface NewExecutionResult {
  code_history_id?: string | null | undefined;
  stdout: string;
  stderr: string;
  exit_code: number;
  duration_ms?: number | null | undefined;
  metadata?: Record<string, unknown> | undefined;
}

export const recordExecutionResult = async (
  { sql }: Pick<Dependencies, 'sql'>,
  sessionId: string,
  result: NewExecutionResult,
): Promise<ExecutionResult> => {
  // One statement: the session must exist, and a referenced code entry must belong to it. Only the
  // small columns come back: the Data API refuses a record over 64 KB, which 24 KiB of stdout and of
  // stderr (an ANSI escape is 6 bytes, \u001b, in its JSON) or 8 KiB of metadata (jsonb prints 1e300
  // as 301 digits) can pass. The rest is the input as the columns hold it.
  const [row] = await sql.query(
    `INSERT INTO execution_results (session_id, code_history_id, stdout, stderr, exit_code, duration_ms, metadata)
     SELECT s.session_id, c.id, :stdout, :stderr, :exit_code, :duration_ms, CAST(:metadata AS jsonb)
     FROM sessions s
     LEFT JOIN code_history c ON c.id = CAST(:code_history_id AS bigint) AND c.session_id = s.session_id
     WHERE s.session_id = :session_id AND (CAST(:code_history_id AS bigint) IS NULL OR c.id IS NOT NULL)
     RETURNING id, session_id, code_history_id, exit_code, duration_ms, created_at`,
    {
      session_id: sessionId,
      code_history_id: result.code_history_id ?? null,
      stdout: result.stdout,
      stderr: result.stderr,
      exit_code: result.exit_code,
      duration_ms: result.duration_ms ?? null,
      metadata: JSON.stringify(result.metadata ?? {}),
    },
  );
  if (!row) {
    throw notFound(
      'Session or code history entry not found',
      result.code_history_id
        ? `No code history entry ${result.code_history_id} in session "${sessionId}"`
        : `No session with id "${sessionId}"`,
    );
  }
  return {
    id: String(row.id),
    session_id: String(row.session_id),
    code_history_id: row.code_history_id === null ? null : String(row.code_history_id),
    stdout: asStoredText(result.stdout),
    stderr: asStoredText(result.stderr),
    exit_code: Number(row.exit_code),
    duration_ms: nullableNumber(row.duration_ms),
    metadata: asJsonb(result.metadata ?? {}),
    created_at: String(row.created_at),
  };
};
