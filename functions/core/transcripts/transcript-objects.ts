/**
 * Where a transcript and its details live in the store. The text sits at the seed's key,
 * transcripts/{session_id}/{session_id}_{chunk_id}.txt, so that folder holds nothing but transcript files
 * and one list request covers 1,000 of them. Everything else (confidence, language, duration, word
 * timings) is kept beside it: small values as object metadata on the .txt, the whole record in a JSON
 * sidecar under transcript-details/, mirroring the same layout.
 */
import { TRANSCRIPT_DETAILS_PREFIX, TRANSCRIPTS_PREFIX, transcriptKeyFor, transcriptPrefixFor } from '../keys';
import type { WordTiming } from '../ports/transcriber';

export { TRANSCRIPT_DETAILS_PREFIX };

export const transcriptDetailsKeyFor = (sessionId: string, chunkId: string): string =>
  `${TRANSCRIPT_DETAILS_PREFIX}${sessionId}/${sessionId}_${chunkId}.json`;

/** Every prefix a transcription writes under (the text and its sidecar): the transcribing functions' write grants. */
export const TRANSCRIPTION_WRITES = [TRANSCRIPTS_PREFIX, TRANSCRIPT_DETAILS_PREFIX] as const;

/** The chunk id of a transcript key under the session's prefix; null for anything else found there. */
export const chunkIdOfTranscriptKey = (sessionId: string, key: string): string | null => {
  const prefix = transcriptPrefixFor(sessionId);
  if (!key.startsWith(prefix)) return null;
  const match = /^([0-9]{1,18})\.txt$/.exec(key.slice(prefix.length + sessionId.length + 1));
  return match && key === transcriptKeyFor(sessionId, match[1]!) ? match[1]! : null;
};

/** The sidecar's content: everything the engine said about the chunk besides the text. */
export interface TranscriptDetails {
  session_id: string;
  chunk_id: string;
  filename: string;
  transcript: string;
  confidence: number;
  language: string;
  duration: number;
  /** When the transcript object was written: its LastModified. */
  created_at: string;
  file_size: number;
  engine: string;
  words: WordTiming[];
  /** The chunk's track, as uploaded (absent in sidecars written before uploads carried it). */
  speaker?: string | null;
  started_at?: string | null;
}
