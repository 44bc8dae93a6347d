/**
 * The automatic path: an audio object was created (S3 ObjectCreated on AWS, the directory store's
 * notification locally), so transcribe its chunk within the invocation's deadline.
 * A failure a retry cannot cure (undecodable audio, a missing object, audio too long for the deadline) is
 * recorded on the row as failed and logged with the ids, not thrown: retrying the event would fail the same
 * way, and POST /process_chunk can retry it once the cause is fixed. A failure a retry may cure (Transcribe
 * throttled, the database resuming, the recognizer busy) leaves the chunk pending and is thrown once every
 * key is handled, so Lambda retries the event and, when its retries run out, sends it to the failure queue.
 * A repeated event for a chunk already done, or held by a live run, is skipped: S3 may deliver an event twice.
 */

import { findAudioChunk } from '../audio-chunks';
import { completeAudioUpload, refusedOnArrival } from '../audio-uploads';
import { parseAudioKey } from '../keys';
import { needsBatch, startBatchTranscription } from './batch';
import { fitsBefore, type RunDeadline, TRANSCRIPTION_MARGIN_SECONDS } from './run-deadline';
import { claimTranscription, endTranscription, isRetriable } from './status';
import { type TranscriberDependencies, transcribeClaimedChunk } from './transcribe-chunk';

export type InsertOutcome =
  | { key: string; outcome: 'done'; chunk_id: string; session_id: string }
  | { key: string; outcome: 'failed'; chunk_id: string; session_id: string; error: string }
  /** Handed to a batch job, whose completion event finishes it (./batch.ts). */
  | { key: string; outcome: 'batch'; chunk_id: string; session_id: string; job: string }
  | { key: string; outcome: 'skipped'; reason: string };

export const transcribeInsertedAudio = async (
  deps: TranscriberDependencies,
  keys: readonly string[],
  run: RunDeadline,
): Promise<InsertOutcome[]> => {
  const outcomes: InsertOutcome[] = [];
  let retriable: unknown;
  for (const key of keys) {
    try {
      outcomes.push(await transcribeOne(deps, key, run));
    } catch (error) {
      // The other keys of the event still get their turn; the retry skips the ones done.
      retriable ??= error;
    }
  }
  if (retriable !== undefined) throw retriable;
  return outcomes;
};

const transcribeOne = async (deps: TranscriberDependencies, key: string, run: RunDeadline): Promise<InsertOutcome> => {
  const { logger } = deps;
  const parsed = parseAudioKey(key);
  if (!parsed) {
    logger.warn('Ignoring an object that is not an audio chunk', { key });
    return { key, outcome: 'skipped', reason: 'not an audio chunk key' };
  }
  // A direct upload's object arrives before its chunk row exists: its arrival makes the row.
  const chunk =
    (await findAudioChunk(deps, parsed.chunkId)) ?? (deps.audio ? await completeAudioUpload({ ...deps, audio: deps.audio }, key) : null);
  if (!chunk || chunk.session_id !== parsed.sessionId || chunk.audio_key !== key) {
    logger.warn('Ignoring audio with no matching chunk row', { key, chunk_id: parsed.chunkId, session_id: parsed.sessionId });
    return { key, outcome: 'skipped', reason: 'no matching chunk' };
  }
  if (chunk.transcript_status === 'done') {
    return { key, outcome: 'skipped', reason: 'already transcribed' };
  }
  const ids = { chunk_id: chunk.chunk_id, session_id: chunk.session_id };
  if (refusedOnArrival(chunk)) {
    // Its audio was removed; a repeated event must not overwrite the reason with "audio not found".
    return { key, outcome: 'failed', ...ids, error: chunk.transcript_error ?? 'Refused on arrival' };
  }
  const claim = await claimTranscription(deps, chunk.chunk_id, run.deadline - Date.now(), run.runId ?? null);
  if (!claim.claimed) {
    logger.info('Skipping a chunk another run is transcribing', { ...ids, lease_expires_at: claim.leaseExpiresAt });
    return { key, outcome: 'skipped', reason: 'being transcribed by another run' };
  }
  if (deps.batchTranscriber && needsBatch(deps, chunk, fitsBefore(chunk, run))) {
    try {
      const job = await startBatchTranscription({ ...deps, batchTranscriber: deps.batchTranscriber }, chunk, claim.attempt);
      logger.info('Handed an audio chunk to batch transcription', { ...ids, job, duration: chunk.duration });
      return { key, outcome: 'batch', ...ids, job };
    } catch (error) {
      if (isRetriable(error)) throw error;
      logger.error('Batch transcription could not start', { ...ids, error });
      return { key, outcome: 'failed', ...ids, error: error instanceof Error ? error.message : String(error) };
    }
  }
  if (!fitsBefore(chunk, run)) {
    // Every retry gets the same timeout, so this is final; the upload limit (MAX_AUDIO_SECONDS) should prevent it.
    const error = `Audio too long: chunk ${chunk.chunk_id} holds ${chunk.duration} s of audio, more than its transcription run can stream before its deadline (${Math.floor((run.deadline - Date.now()) / 1000) - TRANSCRIPTION_MARGIN_SECONDS} s)`;
    await endTranscription(deps, chunk.chunk_id, claim.attempt, 'failed', error);
    logger.error('Automatic transcription failed; the audio is too long for the function timeout', { ...ids, duration: chunk.duration });
    return { key, outcome: 'failed', ...ids, error };
  }
  try {
    const transcript = await transcribeClaimedChunk(deps, chunk, claim.attempt);
    logger.info('Transcribed audio chunk', { ...ids, words: transcript.transcript ? transcript.transcript.split(' ').length : 0 });
    return { key, outcome: 'done', ...ids };
  } catch (error) {
    if (isRetriable(error)) {
      logger.error('Automatic transcription failed; the chunk stays pending and the event is retried', {
        ...ids,
        attempt: claim.attempt,
        error,
      });
      throw error;
    }
    const message = error instanceof Error ? error.message : String(error);
    logger.error('Automatic transcription failed; the audio is kept and POST /process_chunk retries it', { ...ids, error });
    return { key, outcome: 'failed', ...ids, error: message };
  }
};
