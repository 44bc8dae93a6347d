/**
 * The transcript lifecycle on each audio chunk row: pending (inserted) → processing → done | failed, and
 * processing → pending again when a retry may cure the failure. A run claims the chunk with a lease that
 * ends at its own deadline, so a row never says 'processing' for a run that has timed out or died: an
 * expired lease reads as pending and the next delivery or retry takes it over. While a lease is live no
 * other run starts. The claim's attempt number guards the run's later writes, so a run that outlived its
 * lease cannot overwrite the status set by the run that took over.
 * The error kept on a failure is one a caller may read (no paths, no SQL), so reads can show it as is.
 */
import type { Dependencies } from '../dependencies';
import { isDomainError } from '../errors';

const MAX_ERROR_LENGTH = 500;

/**
 * A row still 'processing' after its lease ended belongs to a run that timed out or died: it reads as
 * 'pending' (retriable), never as work in progress.
 */
export const EFFECTIVE_TRANSCRIPT_STATUS =
  "CASE WHEN transcript_status = 'processing' AND transcript_lease_expires_at <= now() THEN 'pending' ELSE transcript_status END";

export type Claim = { claimed: true; attempt: number } | { claimed: false; leaseExpiresAt: string | null };

/**
 * Marks the chunk processing under a lease of `leaseMs`, unless another run holds a live lease on it.
 * One statement: concurrent claims of one row serialize on its lock, and the loser sees the winner's lease.
 */
export const claimTranscription = async (
  { sql }: Pick<Dependencies, 'sql'>,
  chunkId: string,
  leaseMs: number,
  runId: string | null = null,
): Promise<Claim> => {
  for (;;) {
    const [claimed] = await sql.query<{ transcript_attempts: number }>(
      `UPDATE audio_chunks
       SET transcript_status = 'processing', transcript_attempts = transcript_attempts + 1,
           transcript_lease_expires_at = now() + CAST(:lease_ms AS integer) * interval '1 millisecond', transcript_updated_at = now(),
           transcript_lease_run = CAST(:run_id AS text)
       WHERE chunk_id = CAST(:chunk_id AS bigint)
         AND NOT (transcript_status = 'processing' AND transcript_lease_expires_at > now()
                  AND (CAST(:run_id AS text) IS NULL OR transcript_lease_run IS DISTINCT FROM CAST(:run_id AS text)))
       RETURNING transcript_attempts`,
      { chunk_id: chunkId, lease_ms: Math.max(1, Math.floor(leaseMs)), run_id: runId },
    );
    if (claimed) return { claimed: true, attempt: Number(claimed.transcript_attempts) };
    const [held] = await sql.query<{ transcript_lease_expires_at: string | null; live: boolean }>(
      `SELECT transcript_lease_expires_at,
              (transcript_status = 'processing' AND transcript_lease_expires_at > now()) AS live
       FROM audio_chunks WHERE chunk_id = CAST(:chunk_id AS bigint)`,
      { chunk_id: chunkId },
    );
    if (!held) return { claimed: false, leaseExpiresAt: null };
    if (held.live === true) return { claimed: false, leaseExpiresAt: held.transcript_lease_expires_at };
    // The holder ended its run between the two statements: the chunk is free, so claim it again.
  }
};

/**
 * Ends the claimed run: done, failed (a retry would fail the same way), or pending again (a retry may
 * succeed; the error says what went wrong meanwhile). A no-op when another run has since taken the chunk over.
 * `text`, given with done, is what search indexes (migration 006): written in this same statement, so a
 * chunk is searchable exactly when it is done; other outcomes keep the text of an earlier run.
 */
export const endTranscription = async (
  { sql }: Pick<Dependencies, 'sql'>,
  chunkId: string,
  attempt: number,
  status: 'done' | 'failed' | 'pending',
  error: string | null = null,
  text: string | null = null,
): Promise<void> => {
  await sql.query(
    `UPDATE audio_chunks
     SET transcript_status = :status, transcript_error = :error, transcript_lease_expires_at = NULL, transcript_updated_at = now(),
         transcript_text = coalesce(CAST(:text AS text), transcript_text)
     WHERE chunk_id = CAST(:chunk_id AS bigint) AND transcript_attempts = :attempt`,
    { chunk_id: chunkId, attempt, status, error: error === null ? null : error.slice(0, MAX_ERROR_LENGTH), text },
  );
};

/**
 * Whether trying again later may succeed: a dependency that was down, throttled or busy. Adapters
 * translate their services' transient failures (Transcribe's LimitExceededException, Data API throttling,
 * a resuming database) into dependency_unavailable at their boundary, so the kind alone decides.
 */
export const isRetriable = (error: unknown): boolean => isDomainError(error) && error.kind === 'dependency_unavailable';

/** What a failure says on the row: the domain error's public words, or a generic line for anything else. */
export const failureDescription = (error: unknown): string =>
  isDomainError(error) ? `${error.message}: ${error.detail}` : 'Transcription failed unexpectedly; retry with POST /process_chunk';

/**
 * Passes a claimed run's lease to a batch job: the row stays processing under `runId` (the job's name)
 * until `leaseMs` from now, so the completion event can tell its own job from a stale or foreign one.
 * False when another run has taken the chunk over meanwhile.
 */
export const handOverLease = async (
  { sql }: Pick<Dependencies, 'sql'>,
  chunkId: string,
  attempt: number,
  runId: string,
  leaseMs: number,
): Promise<boolean> => {
  const updated = await sql.query(
    `UPDATE audio_chunks
     SET transcript_lease_run = :run_id, transcript_lease_expires_at = now() + CAST(:lease_ms AS integer) * interval '1 millisecond',
         transcript_updated_at = now()
     WHERE chunk_id = CAST(:chunk_id AS bigint) AND transcript_attempts = :attempt AND transcript_status = 'processing'
     RETURNING chunk_id`,
    { chunk_id: chunkId, attempt, run_id: runId, lease_ms: Math.floor(leaseMs) },
  );
  return updated.length > 0;
};
