/**
 * The automatic path: an audio object was created (S3 ObjectCreated on AWS, the directory store's
 * notification locally), so transcribe its chunk. Failures are recorded on the row and logged with the
 * chunk and session ids rather than thrown: the audio stays, and POST /process_chunk retries it.
 * A repeated event for a chunk already done is skipped, as S3 may deliver an event more than once.
 */
import { parseAudioKey } from '../keys';
import { findAudioChunk } from '../audio-chunks';
import { transcribeStoredChunk, type TranscriberDependencies } from './transcribe-chunk';

export type InsertOutcome =
  | { key: string; outcome: 'done'; chunk_id: string; session_id: string }
  | { key: string; outcome: 'failed'; chunk_id: string; session_id: string; error: string }
  | { key: string; outcome: 'skipped'; reason: string };

export const transcribeInsertedAudio = async (deps: TranscriberDependencies, keys: readonly string[]): Promise<InsertOutcome[]> => {
  const outcomes: InsertOutcome[] = [];
  for (const key of keys) outcomes.push(await transcribeOne(deps, key));
  return outcomes;
};

const transcribeOne = async (deps: TranscriberDependencies, key: string): Promise<InsertOutcome> => {
  const { logger } = deps;
  const parsed = parseAudioKey(key);
  if (!parsed) {
    logger.warn('Ignoring an object that is not an audio chunk', { key });
    return { key, outcome: 'skipped', reason: 'not an audio chunk key' };
  }
  const chunk = await findAudioChunk(deps, parsed.chunkId);
  if (!chunk || chunk.session_id !== parsed.sessionId || chunk.audio_key !== key) {
    logger.warn('Ignoring audio with no matching chunk row', { key, chunk_id: parsed.chunkId, session_id: parsed.sessionId });
    return { key, outcome: 'skipped', reason: 'no matching chunk' };
  }
  if (chunk.transcript_status === 'done') {
    return { key, outcome: 'skipped', reason: 'already transcribed' };
  }
  const ids = { chunk_id: chunk.chunk_id, session_id: chunk.session_id };
  try {
    const transcript = await transcribeStoredChunk(deps, chunk);
    logger.info('Transcribed audio chunk', { ...ids, words: transcript.transcript ? transcript.transcript.split(' ').length : 0 });
    return { key, outcome: 'done', ...ids };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    logger.error('Automatic transcription failed; the audio is kept and POST /process_chunk retries it', { ...ids, error });
    return { key, outcome: 'failed', ...ids, error: message };
  }
};
