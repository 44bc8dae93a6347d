/**
 * Batch transcription on AWS: a chunk longer than the inserted-chunk function can stream before its
 * deadline, or in a format streaming does not read, goes to an Amazon Transcribe batch job instead.
 * start: claim (done by the caller) → hand the lease to the job, named for chunk and attempt → start it.
 * complete (the "Transcribe Job State Change" event): the job's name leads back to the chunk and the
 * claim; its output becomes the transcript files through storeTranscript, as a streamed run's does, or
 * its failure reason is recorded on the row. An event for a job the row no longer holds is skipped.
 */
import { randomBytes } from 'node:crypto';
import { audioFormatOf } from '../audio/probe';
import { type AudioChunk, findAudioChunk } from '../audio-chunks';
import type { Dependencies } from '../dependencies';
import { BATCH_JOB_PREFIX, transcribeOutputKeyFor } from '../keys';
import { endTranscription, failureDescription, handOverLease, isRetriable } from './status';
import { storeTranscript } from './transcribe-chunk';

/** How long a job may take, queueing included, before its chunk reads as pending again (and its event is ignored). */
export const BATCH_LEASE_MS = 6 * 3600_000;

const JOB_NAME = /^interview-ops-chunk-([0-9]{1,18})-a([0-9]{1,9})-[0-9a-f]{12}$/;

/** Unique in the account (jobs are kept 90 days, and a database may be rebuilt): chunk, attempt and a random tail. */
export const batchJobNameFor = (chunkId: string, attempt: number): string =>
  `${BATCH_JOB_PREFIX}${chunkId}-a${attempt}-${randomBytes(6).toString('hex')}`;

export const parseBatchJobName = (jobName: string): { chunkId: string; attempt: number } | null => {
  const match = JOB_NAME.exec(jobName);
  return match ? { chunkId: match[1]!, attempt: Number(match[2]) } : null;
};

type BatchDependencies = Pick<Dependencies, 'sql' | 'store' | 'logger' | 'transcriber'> & Required<Pick<Dependencies, 'batchTranscriber'>>;

/** Whether the chunk goes to batch: too long for the streaming run's deadline, or a format streaming cannot read. */
export const needsBatch = (
  deps: Pick<Dependencies, 'transcriber' | 'batchTranscriber'>,
  chunk: Pick<AudioChunk, 'content_type'>,
  fitsStreamingRun: boolean,
): boolean => {
  if (!deps.batchTranscriber) return false;
  const format = audioFormatOf(chunk.content_type);
  if (!format || !deps.batchTranscriber.acceptedFormats.includes(format)) return false;
  return !fitsStreamingRun || !deps.transcriber.acceptedFormats.includes(format);
};

/** Starts the batch job for a chunk this run has claimed (`attempt`); the row stays processing under the job's name. */
export const startBatchTranscription = async (deps: BatchDependencies, chunk: AudioChunk, attempt: number): Promise<string> => {
  const jobName = batchJobNameFor(chunk.chunk_id, attempt);
  try {
    if (!(await handOverLease(deps, chunk.chunk_id, attempt, jobName, BATCH_LEASE_MS))) return jobName;
    await deps.batchTranscriber.start({
      jobName,
      mediaKey: chunk.audio_key,
      format: audioFormatOf(chunk.content_type)!,
      outputKey: transcribeOutputKeyFor(chunk.session_id, jobName),
    });
    return jobName;
  } catch (error) {
    await endTranscription(deps, chunk.chunk_id, attempt, isRetriable(error) ? 'pending' : 'failed', failureDescription(error));
    throw error;
  }
};

export interface BatchJobEnd {
  jobName: string;
  status: 'COMPLETED' | 'FAILED';
  failureReason?: string | undefined;
}

export type BatchOutcome = { outcome: 'done' | 'failed'; chunk_id: string; session_id: string } | { outcome: 'skipped'; reason: string };

export const completeBatchTranscription = async (deps: BatchDependencies, end: BatchJobEnd): Promise<BatchOutcome> => {
  const { sql, store, logger } = deps;
  const named = parseBatchJobName(end.jobName);
  if (!named) return { outcome: 'skipped', reason: 'not a chunk job' };
  const [held] = await sql.query<{ transcript_lease_run: string | null; transcript_attempts: number }>(
    'SELECT transcript_lease_run, transcript_attempts FROM audio_chunks WHERE chunk_id = CAST(:chunk_id AS bigint)',
    { chunk_id: named.chunkId },
  );
  const chunk = await findAudioChunk(deps, named.chunkId);
  const waiting =
    chunk?.transcript_status === 'processing' &&
    held?.transcript_lease_run === end.jobName &&
    Number(held.transcript_attempts) === named.attempt;
  if (!chunk || !waiting) {
    logger.warn('Ignoring the end of a batch job its chunk no longer waits for', { job: end.jobName, chunk_id: named.chunkId });
    return { outcome: 'skipped', reason: 'the chunk does not wait for this job' };
  }
  const ids = { chunk_id: chunk.chunk_id, session_id: chunk.session_id };
  if (end.status === 'FAILED') {
    const error = `Amazon Transcribe could not transcribe the audio: ${end.failureReason ?? 'no reason given'}`;
    await endTranscription(deps, chunk.chunk_id, named.attempt, 'failed', error);
    logger.error('Batch transcription failed; the audio is kept and POST /process_chunk starts a new job', { ...ids, error });
    return { outcome: 'failed', ...ids };
  }
  try {
    const output = await store.get(transcribeOutputKeyFor(chunk.session_id, end.jobName));
    if (!output) throw new Error(`batch job ${end.jobName} left no output`);
    await storeTranscript(deps, chunk, named.attempt, deps.batchTranscriber.readOutput(output.body, chunk.duration));
    logger.info('Transcribed audio chunk in batch', { ...ids, job: end.jobName });
    return { outcome: 'done', ...ids };
  } catch (error) {
    // A store or database outage: thrown, so the event is retried and the chunk stays processing meanwhile.
    if (isRetriable(error)) throw error;
    await endTranscription(deps, chunk.chunk_id, named.attempt, 'failed', failureDescription(error));
    logger.error('Batch transcription output could not be read', { ...ids, error });
    return { outcome: 'failed', ...ids };
  }
};
