/**
 * Turns one stored audio chunk into its transcript file:
 * find the chunk → claim it (processing, under a lease that ends at the run's deadline) → read its audio →
 * recognize → write text and details → mark done.
 * A failure a retry may cure (a dependency down, throttled or busy) puts the chunk back to pending; any
 * other marks it failed with a readable reason. Either way the audio stays, so POST /process_chunk (or the
 * event's redelivery) can retry it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { audioFormatOf } from '../audio/probe';
import { type AudioChunk, findAudioChunk } from '../audio-chunks';
import type { Dependencies } from '../dependencies';
import { conflict, notFound, tooLarge } from '../errors';
import { transcriptFilenameFor, transcriptKeyFor } from '../keys';
import type { Transcription } from '../ports/transcriber';
import { fitsBefore, type RunDeadline, secondsLeft, TRANSCRIPTION_MARGIN_SECONDS } from './run-deadline';
import { claimTranscription, endTranscription, failureDescription, isRetriable } from './status';
import { type TranscriptDetails, transcriptDetailsKeyFor } from './transcript-objects';

/** The seed's `data` for POST /process_chunk: the sidecar's fields bar the engine's own, plus where the file lives. */
export type GeneratedTranscript = { success: true; file_path: string } & Omit<TranscriptDetails, 'engine' | 'words'>;

export type TranscriberDependencies = Pick<Dependencies, 'sql' | 'store' | 'transcriber' | 'logger'> & {
  /** Its maxOnDemandSeconds limits POST /process_chunk. */
  audio?: Dependencies['audio'];
  /** Takes the chunks a streaming run cannot (./batch.ts); AWS only. */
  batchTranscriber?: Dependencies['batchTranscriber'];
};

const roundSeconds = (seconds: number) => Math.round(seconds * 10) / 10;

const roundTo = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

/** The chunk, if it exists and belongs to the session named (when one is); a 404 that reveals nothing otherwise. */
export const findChunkForTranscription = async (
  deps: Pick<Dependencies, 'sql'>,
  chunkId: string,
  sessionId?: string,
): Promise<AudioChunk> => {
  const chunk = await findAudioChunk(deps, chunkId);
  if (!chunk || (sessionId !== undefined && chunk.session_id !== sessionId)) {
    throw notFound(
      'Audio chunk not found',
      sessionId === undefined ? `No audio chunk with id ${chunkId}` : `No audio chunk with id ${chunkId} in session "${sessionId}"`,
    );
  }
  return chunk;
};

/**
 * Recognizes a chunk this run has claimed (`attempt`) and writes its transcript; ends the claim on the row
 * as done, pending (retriable failure) or failed, and rethrows any failure.
 */
export const transcribeClaimedChunk = async (
  deps: TranscriberDependencies,
  chunk: AudioChunk,
  attempt: number,
): Promise<GeneratedTranscript> => {
  const { store, transcriber } = deps;
  try {
    const audio = await store.get(chunk.audio_key);
    if (!audio) {
      throw notFound('Audio not found', `The audio of chunk ${chunk.chunk_id} is no longer stored, so it cannot be transcribed`);
    }
    const transcription = await transcriber.transcribe({
      bytes: audio.body,
      format: audioFormatOf(chunk.content_type) ?? 'wav',
      sampleRate: chunk.sample_rate,
      channels: chunk.channels,
      duration: chunk.duration,
    });
    return await storeTranscript(deps, chunk, attempt, transcription);
  } catch (error) {
    // If even this write fails, the lease still ends at the deadline and the row reads as pending then.
    await endTranscription(deps, chunk.chunk_id, attempt, isRetriable(error) ? 'pending' : 'failed', failureDescription(error)).catch(
      (statusError: unknown) =>
        deps.logger.error('Could not record a failed transcription', { chunk_id: chunk.chunk_id, error: statusError }),
    );
    throw error;
  }
};

/**
 * Writes a recognized chunk's transcript (the text, then its details sidecar) and marks the claimed run
 * done: the one ending of every engine's run, streamed or batch. Failures are the caller's to record.
 */
export const storeTranscript = async (
  deps: Pick<Dependencies, 'sql' | 'store'>,
  chunk: AudioChunk,
  attempt: number,
  transcription: Transcription,
): Promise<GeneratedTranscript> => {
  const { store } = deps;
  const key = transcriptKeyFor(chunk.session_id, chunk.chunk_id);
  const confidence = roundTo(transcription.confidence, 4);
  const stored = await store.put(key, transcription.text, {
    contentType: 'text/plain; charset=utf-8',
    metadata: {
      session_id: chunk.session_id,
      chunk_id: chunk.chunk_id,
      confidence: String(confidence),
      language: transcription.language,
      duration: String(transcription.duration),
      engine: transcription.engine,
    },
  });
  const details: TranscriptDetails = {
    session_id: chunk.session_id,
    chunk_id: chunk.chunk_id,
    filename: transcriptFilenameFor(chunk.session_id, chunk.chunk_id),
    transcript: transcription.text,
    confidence,
    language: transcription.language,
    duration: transcription.duration,
    created_at: stored.lastModified,
    file_size: stored.size,
    engine: transcription.engine,
    words: transcription.words,
    speaker: chunk.speaker,
    started_at: chunk.started_at,
  };
  // The sidecar before the row: a chunk marked done always has its details, which the session timeline reads.
  await store.put(transcriptDetailsKeyFor(chunk.session_id, chunk.chunk_id), JSON.stringify(details), {
    contentType: 'application/json',
  });
  await endTranscription(deps, chunk.chunk_id, attempt, 'done', null, transcription.text);
  return {
    success: true,
    chunk_id: chunk.chunk_id,
    session_id: chunk.session_id,
    file_path: store.locationOf(key),
    filename: details.filename,
    transcript: details.transcript,
    confidence,
    language: details.language,
    duration: details.duration,
    created_at: details.created_at,
    file_size: details.file_size,
  };
};

/** How often a caller waiting for another run's live lease looks again. */
const LEASE_POLL_MS = 250;

/**
 * POST /process_chunk/{chunk_id}: (re)generate one chunk's transcript on demand, within the route's
 * deadline. Audio too long to stream before it is refused (the automatic path, with its longer timeout,
 * makes that transcript); a chunk another run holds is waited for while the deadline allows, then
 * transcribed again, so two runs never work on one chunk at once.
 */
export const transcribeChunk = async (
  deps: TranscriberDependencies,
  request: { chunkId: string; sessionId?: string | undefined } & RunDeadline,
): Promise<GeneratedTranscript> => {
  const chunk = await findChunkForTranscription(deps, request.chunkId, request.sessionId);
  const limit = deps.audio?.maxOnDemandSeconds;
  if ((limit !== undefined && chunk.duration > limit) || !fitsBefore(chunk, request)) {
    const most = Math.max(0, Math.min(limit ?? Infinity, Math.floor(secondsLeft(request) - TRANSCRIPTION_MARGIN_SECONDS)));
    throw tooLarge(
      'Audio too long to transcribe on demand',
      `Chunk ${chunk.chunk_id} holds ${roundSeconds(chunk.duration)} s of audio; POST /process_chunk transcribes at most ${most} s within its time limit. ` +
        `Its transcript is made automatically after upload: GET /transcript/${chunk.session_id}/${chunk.chunk_id}`,
    );
  }
  for (;;) {
    const claim = await claimTranscription(deps, chunk.chunk_id, request.deadline - Date.now());
    if (claim.claimed) return transcribeClaimedChunk(deps, chunk, claim.attempt);
    if (claim.leaseExpiresAt === null) throw notFound('Audio chunk not found', `No audio chunk with id ${chunk.chunk_id}`);
    if ((request.deadline - Date.now() - LEASE_POLL_MS) / 1000 < chunk.duration + TRANSCRIPTION_MARGIN_SECONDS) {
      throw conflict(
        'Transcription in progress',
        `Chunk ${chunk.chunk_id} is being transcribed by another run (until ${claim.leaseExpiresAt} at the latest); ` +
          `its transcript follows at GET /transcript/${chunk.session_id}/${chunk.chunk_id}, or try again then`,
      );
    }
    await sleep(LEASE_POLL_MS);
  }
};
