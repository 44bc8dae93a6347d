/** What an upload answers about its chunk: the raw-body POST, and a direct-upload request replayed. */
import type { AudioChunk } from '../core/audio-chunks';

export const chunkData = (chunk: AudioChunk) => ({
  chunk_id: chunk.chunk_id,
  session_id: chunk.session_id,
  content_type: chunk.content_type,
  duration: chunk.duration,
  size_bytes: chunk.size_bytes,
  sequence: chunk.sequence,
  speaker: chunk.speaker,
  started_at: chunk.started_at,
  transcript_status: chunk.transcript_status,
  created_at: chunk.created_at,
});
