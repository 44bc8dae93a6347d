/**
 * POST /process_chunk/{chunk_id}: find the chunk → if only batch transcription can take it (a format
 * streaming cannot read, such as MP4 on AWS, or more audio than the route can stream), claim it and start
 * a new batch job, answered 202 while the job runs → else transcribe it now (./transcribe-chunk.ts).
 * This is how a chunk whose batch job failed is retried: the new job's end event completes it.
 */
import { conflict, notFound } from '../errors';
import { needsBatch, startBatchTranscription } from './batch';
import { fitsBefore, type RunDeadline } from './run-deadline';
import { claimTranscription } from './status';
import { findChunkForTranscription, type GeneratedTranscript, type TranscriberDependencies, transcribeChunk } from './transcribe-chunk';

/** The answer while a batch job transcribes the chunk: its transcript follows at GET /transcript. */
export interface BatchHandOff {
  chunk_id: string;
  session_id: string;
  transcript_status: 'processing';
  job: string;
}

export type ProcessedChunk = GeneratedTranscript | BatchHandOff;

export const isBatchHandOff = (result: ProcessedChunk): result is BatchHandOff => 'job' in result;

export const processChunk = async (
  deps: TranscriberDependencies,
  request: { chunkId: string; sessionId?: string | undefined } & RunDeadline,
): Promise<ProcessedChunk> => {
  const { batchTranscriber } = deps;
  const chunk = await findChunkForTranscription(deps, request.chunkId, request.sessionId);
  const limit = deps.audio?.maxOnDemandSeconds;
  const streamsNow = (limit === undefined || chunk.duration <= limit) && fitsBefore(chunk, request);
  if (!batchTranscriber || !needsBatch(deps, chunk, streamsNow)) return transcribeChunk(deps, request);

  const claim = await claimTranscription(deps, chunk.chunk_id, request.deadline - Date.now());
  if (!claim.claimed) {
    if (claim.leaseExpiresAt === null) throw notFound('Audio chunk not found', `No audio chunk with id ${chunk.chunk_id}`);
    throw conflict(
      'Transcription in progress',
      `Chunk ${chunk.chunk_id} is being transcribed (until ${claim.leaseExpiresAt} at the latest); ` +
        `its transcript follows at GET /transcript/${chunk.session_id}/${chunk.chunk_id}`,
    );
  }
  const job = await startBatchTranscription({ ...deps, batchTranscriber }, chunk, claim.attempt);
  deps.logger.info('Handed an audio chunk to batch transcription on request', {
    chunk_id: chunk.chunk_id,
    session_id: chunk.session_id,
    job,
  });
  return { chunk_id: chunk.chunk_id, session_id: chunk.session_id, transcript_status: 'processing', job };
};
