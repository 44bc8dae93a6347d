/**
 * What a platform may say about a chunk when it uploads it (raw-body POST as query parameters, the
 * direct-upload request as JSON): its number within the session, whose voice it holds, and when its
 * audio began. Stored on the chunk row (migration 008) and returned wherever the chunk is.
 */
import { invalidInput } from './errors';

export interface ChunkTrack {
  /** The platform's chunk number within the session: a repeated upload with the same number is a retry. */
  sequence: number | null;
  /** A short label such as `interviewer` or `candidate`. */
  speaker: string | null;
  /** When the chunk's audio began: an ISO 8601 instant, or milliseconds since the session's start. */
  startedAt: string | number | null;
}

export const NO_TRACK: ChunkTrack = { sequence: null, speaker: null, startedAt: null };

/** One source for the label's shape; the column's CHECK in 008_audio_chunk_track.sql says the same. */
export const SPEAKER_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
export const MAX_SEQUENCE = 2_147_483_647;

/** The instant `startedAt` names, as ISO 8601 UTC: offsets count from the session's creation. */
export const resolveStartedAt = (startedAt: ChunkTrack['startedAt'], sessionCreatedAt: string): string | null => {
  if (startedAt === null) return null;
  const instant = typeof startedAt === 'number' ? Date.parse(sessionCreatedAt) + startedAt : Date.parse(startedAt);
  if (!Number.isFinite(instant)) throw invalidInput('Invalid started_at', 'started_at must be an ISO 8601 instant or milliseconds');
  return new Date(instant).toISOString();
};
