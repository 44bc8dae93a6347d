/**
 * Turns one stored audio chunk into its transcript file:
 * find the chunk → mark it processing → read its audio → recognize → write text and details → mark done.
 * Any failure marks the chunk failed with a readable reason and leaves the audio in place, so the same
 * call (POST /process_chunk) can retry it.
 */
import { audioFormatOf } from '../audio/probe';
import { findAudioChunk, type AudioChunk } from '../audio-chunks';
import type { Dependencies } from '../dependencies';
import { notFound } from '../errors';
import { failureDescription, setTranscriptStatus } from './status';
import { transcriptFilenameFor, transcriptKeyFor } from '../keys';
import { transcriptDetailsKeyFor, type TranscriptDetails } from './transcript-objects';

/** The seed's `data` for POST /process_chunk: the sidecar's fields bar the engine's own, plus where the file lives. */
export type GeneratedTranscript = { success: true; file_path: string } & Omit<TranscriptDetails, 'engine' | 'words'>;

export type TranscriberDependencies = Pick<Dependencies, 'sql' | 'store' | 'transcriber' | 'logger'>;

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

/** Recognizes an existing chunk and writes its transcript; marks the row on the way. */
export const transcribeStoredChunk = async (deps: TranscriberDependencies, chunk: AudioChunk): Promise<GeneratedTranscript> => {
  const { store, transcriber } = deps;
  // The row and the audio are independent: fetch while marking.
  const [, audio] = await Promise.all([setTranscriptStatus(deps, chunk.chunk_id, 'processing'), store.get(chunk.audio_key).catch((error: unknown) => error as Error)]);
  try {
    if (audio instanceof Error) throw audio;
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
    };
    await Promise.all([
      store.put(transcriptDetailsKeyFor(chunk.session_id, chunk.chunk_id), JSON.stringify(details), { contentType: 'application/json' }),
      setTranscriptStatus(deps, chunk.chunk_id, 'done'),
    ]);
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
  } catch (error) {
    await setTranscriptStatus(deps, chunk.chunk_id, 'failed', failureDescription(error)).catch((statusError: unknown) =>
      deps.logger.error('Could not record a failed transcription', { chunk_id: chunk.chunk_id, error: statusError }),
    );
    throw error;
  }
};

/** POST /process_chunk/{chunk_id}: (re)generate one chunk's transcript on demand. */
export const transcribeChunk = async (
  deps: TranscriberDependencies,
  request: { chunkId: string; sessionId?: string | undefined },
): Promise<GeneratedTranscript> => transcribeStoredChunk(deps, await findChunkForTranscription(deps, request.chunkId, request.sessionId));
