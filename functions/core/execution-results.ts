import type { Dependencies } from './dependencies';
import { notFound } from './errors';
import { jsonValue, nullableNumber } from './rows';

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
  // One statement: the session must exist, and a referenced code entry must belong to it.
  const [row] = await sql.query(
    `INSERT INTO execution_results (session_id, code_history_id, stdout, stderr, exit_code, duration_ms, metadata)
     SELECT s.session_id, c.id, :stdout, :stderr, :exit_code, :duration_ms, CAST(:metadata AS jsonb)
     FROM sessions s
     LEFT JOIN code_history c ON c.id = CAST(:code_history_id AS bigint) AND c.session_id = s.session_id
     WHERE s.session_id = :session_id AND (CAST(:code_history_id AS bigint) IS NULL OR c.id IS NOT NULL)
     RETURNING id, session_id, code_history_id, stdout, stderr, exit_code, duration_ms, metadata, created_at`,
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
    stdout: String(row.stdout),
    stderr: String(row.stderr),
    exit_code: Number(row.exit_code),
    duration_ms: nullableNumber(row.duration_ms),
    metadata: jsonValue(row.metadata),
    created_at: String(row.created_at),
  };
};
