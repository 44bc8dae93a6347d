/**
 * Restart recovery for the local stack. S3 keeps an undelivered event and Lambda retries a run that
 * died; a local process killed mid-work takes its queued notifications and its runs with it. So at start
 * the stack hands every unfinished chunk (pending, or processing under a lease its dead run still holds)
 * to the transcription handler again, as a fresh ObjectCreated notification: its audio is still on disk.
 */
import type { Dependencies } from '../core/dependencies';
import type { StoredObject } from '../core/ports/object-store';
import { logger } from '../logger';

export interface ResumeOptions {
  /**
   * The embedded database lives in this process's DATA_DIR, so no other process can hold a lease in it:
   * every lease found at start belonged to a run that died with the previous process. A shared DATABASE_URL
   * may have live runs of another process, so there only expired leases are taken over.
   */
  ownsDatabase: boolean;
  notify(object: StoredObject): void;
}

export const resumeTranscriptions = async (
  { sql, store }: Pick<Dependencies, 'sql' | 'store'>,
  options: ResumeOptions,
): Promise<number> => {
  if (options.ownsDatabase) {
    await sql.query(
      `UPDATE audio_chunks SET transcript_status = 'pending', transcript_lease_expires_at = NULL, transcript_updated_at = now()
       WHERE transcript_status = 'processing'`,
    );
  }
  const unfinished = await sql.query<{ audio_key: string; size_bytes: number; created_at: string }>(
    `SELECT audio_key, size_bytes, created_at FROM audio_chunks
     WHERE transcript_status = 'pending' OR (transcript_status = 'processing' AND transcript_lease_expires_at <= now())
     ORDER BY chunk_id`,
  );
  for (const chunk of unfinished) {
    options.notify({ key: chunk.audio_key, size: Number(chunk.size_bytes), lastModified: chunk.created_at });
  }
  // Direct uploads whose object was written but whose arrival was never handled (the process died first).
  const awaited = await sql.query<{ audio_key: string }>('SELECT audio_key FROM audio_uploads ORDER BY chunk_id');
  let arrived = 0;
  for (const upload of awaited) {
    const object = await store.head(upload.audio_key);
    if (!object) continue;
    options.notify(object);
    arrived += 1;
  }
  if (unfinished.length + arrived > 0) logger.info('Resuming unfinished transcriptions', { chunks: unfinished.length, arrived });
  return unfinished.length + arrived;
};
