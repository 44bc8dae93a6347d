/**
 * Chunks transcribed before migration 006 have their text in the store only, so search cannot find them.
 * This fills their transcript_text from the stored transcript objects: in bounded batches (one query to
 * pick, one get per chunk, one statement to write the batch), idempotent (only rows still without text
 * are written, so a transcription that lands meanwhile wins), and resumable (it stops at the deadline;
 * the next run picks up what is left). A chunk whose object is gone is skipped and stays unsearchable.
 */
import type { Dependencies } from '../dependencies';
import { transcriptKeyFor } from '../keys';

/** Rows per batch: small enough that a batch's texts stay far under the Data API's request limits. */
export const BACKFILL_BATCH_SIZE = 50;
/** Text kept per chunk, the most a row holds comfortably under the Data API's 64 KB per row. */
const MAX_TEXT_BYTES = 32_768;

export interface BackfillOutcome {
  /** Chunks given their text in this run. */
  filled: number;
  /** Done chunks without text whose transcript object is not stored. */
  missing: number;
  /** Whether every done chunk without text was looked at (false: the deadline came first). */
  complete: boolean;
}

export const backfillSearchText = async (
  { sql, store }: Pick<Dependencies, 'sql' | 'store'>,
  options: { deadline: number; batchSize?: number; now?: () => number },
): Promise<BackfillOutcome> => {
  const batchSize = options.batchSize ?? BACKFILL_BATCH_SIZE;
  const now = options.now ?? Date.now;
  const outcome: BackfillOutcome = { filled: 0, missing: 0, complete: false };
  let after = '0';
  while (now() < options.deadline) {
    const rows = await sql.query<{ chunk_id: string; session_id: string }>(
      `SELECT chunk_id::text AS chunk_id, session_id FROM audio_chunks
       WHERE transcript_status = 'done' AND transcript_text IS NULL AND chunk_id > CAST(:after AS bigint)
       ORDER BY chunk_id LIMIT CAST(:limit AS integer)`,
      { after, limit: batchSize },
    );
    if (rows.length === 0) {
      outcome.complete = true;
      break;
    }
    after = rows[rows.length - 1]!.chunk_id;
    const texts: { chunk_id: string; text: string }[] = [];
    for (const row of rows) {
      const stored = await store.get(transcriptKeyFor(String(row.session_id), row.chunk_id));
      if (!stored) outcome.missing++;
      else texts.push({ chunk_id: row.chunk_id, text: Buffer.from(stored.body).subarray(0, MAX_TEXT_BYTES).toString('utf8') });
    }
    if (texts.length === 0) continue;
    const written = await sql.query<{ chunk_id: string }>(
      `UPDATE audio_chunks a SET transcript_text = t.text
       FROM jsonb_to_recordset(CAST(:texts AS jsonb)) AS t(chunk_id bigint, text text)
       WHERE a.chunk_id = t.chunk_id AND a.transcript_text IS NULL AND a.transcript_status = 'done'
       RETURNING a.chunk_id::text AS chunk_id`,
      { texts: JSON.stringify(texts) },
    );
    outcome.filled += written.length;
  }
  return outcome;
};
