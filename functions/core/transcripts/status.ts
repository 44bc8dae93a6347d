/**
 * The transcript lifecycle on each audio chunk row: pending (inserted) → processing → done | failed.
 * The row is the record of what happened to a chunk's transcript; the error kept on a failure is one a
 * caller may read (no paths, no SQL), so GET /sessions and retries can show it as is.
 */
import type { TranscriptStatus } from '../audio-chunks';
import type { Dependencies } from '../dependencies';
import { isDomainError } from '../errors';

const MAX_ERROR_LENGTH = 500;

export const setTranscriptStatus = async (
  { sql }: Pick<Dependencies, 'sql'>,
  chunkId: string,
  status: TranscriptStatus,
  error: string | null = null,
): Promise<void> => {
  await sql.query(
    `UPDATE audio_chunks
     SET transcript_status = :status, transcript_error = :error, transcript_updated_at = now()
     WHERE chunk_id = CAST(:chunk_id AS bigint)`,
    { chunk_id: chunkId, status, error: error === null ? null : error.slice(0, MAX_ERROR_LENGTH) },
  );
};

/** What a failure says on the row: the domain error's public words, or a generic line for anything else. */
export const failureDescription = (error: unknown): string =>
  isDomainError(error) ? `${error.message}: ${error.detail}` : 'Transcription failed unexpectedly; retry with POST /process_chunk';
