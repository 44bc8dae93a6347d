/**
 * Audio chunk ingest: validate the bytes, record the chunk, store its audio. The row is committed
 * before the object is written, so the ObjectCreated event that starts transcription always finds it.
 */
import { probeAudio } from './audio/probe';
import type { Dependencies } from './dependencies';
import { notFound, tooLarge } from './errors';
import { audioKeyFor } from './keys';
import { EFFECTIVE_TRANSCRIPT_STATUS } from './transcripts/status';

export type TranscriptStatus = 'pending' | 'processing' | 'done' | 'failed';

export interface AudioChunk {
  chunk_id: string;
  session_id: string;
  content_type: string;
  audio_key: string;
  size_bytes: number;
  sample_rate: number;
  channels: number;
  duration: number;
  transcript_status: TranscriptStatus;
  transcript_error: string | null;
  /** While `processing`: when the run that claimed the chunk reaches its deadline. */
  transcript_lease_expires_at: string | null;
  created_at: string;
}

export const AUDIO_CHUNK_COLUMNS = `chunk_id, session_id, content_type, audio_key, size_bytes, sample_rate, channels, duration,
  ${EFFECTIVE_TRANSCRIPT_STATUS} AS transcript_status, transcript_error, transcript_lease_expires_at, created_at`;

export const toAudioChunk = (row: Record<string, unknown>): AudioChunk => ({
  chunk_id: String(row.chunk_id),
  session_id: String(row.session_id),
  content_type: String(row.content_type),
  audio_key: String(row.audio_key),
  size_bytes: Number(row.size_bytes),
  sample_rate: Number(row.sample_rate),
  channels: Number(row.channels),
  duration: Number(row.duration),
  transcript_status: row.transcript_status as TranscriptStatus,
  transcript_error: (row.transcript_error as string | null) ?? null,
  transcript_lease_expires_at:
    row.transcript_lease_expires_at === null || row.transcript_lease_expires_at === undefined
      ? null
      : String(row.transcript_lease_expires_at),
  created_at: String(row.created_at),
});

const roundSeconds = (seconds: number) => Math.round(seconds * 10) / 10;

export interface AudioUpload {
  sessionId: string;
  contentType: string | undefined;
  bytes: Uint8Array;
}

export const ingestAudioChunk = async (
  { sql, store, audio }: Pick<Dependencies, 'sql' | 'store' | 'audio'>,
  upload: AudioUpload,
): Promise<AudioChunk> => {
  if (upload.bytes.length > audio.maxBytes) {
    throw tooLarge('Audio chunk too large', `Audio chunks are limited to ${audio.maxBytes} bytes`);
  }
  const probe = probeAudio(upload.bytes, upload.contentType, audio.acceptedFormats);
  // The inserted-chunk function streams audio at about real time, so its timeout bounds the length it can take.
  if (audio.maxSeconds !== undefined && probe.duration > audio.maxSeconds) {
    throw tooLarge(
      'Audio chunk too long',
      `Audio chunks are limited to ${audio.maxSeconds} seconds; this one holds ${roundSeconds(probe.duration)}`,
    );
  }
  const [allocated] = await sql.query<{ chunk_id: string }>(
    `SELECT nextval(pg_get_serial_sequence('audio_chunks', 'chunk_id'))::text AS chunk_id
     FROM sessions WHERE session_id = :session_id`,
    { session_id: upload.sessionId },
  );
  if (!allocated) throw notFound('Session not found', `No session with id "${upload.sessionId}"`);
  const audioKey = audioKeyFor(upload.sessionId, allocated.chunk_id, probe.extension);
  const [row] = await sql.query(
    `INSERT INTO audio_chunks (chunk_id, session_id, content_type, audio_key, size_bytes, sample_rate, channels, duration)
     VALUES (CAST(:chunk_id AS bigint), :session_id, :content_type, :audio_key, :size_bytes, :sample_rate, :channels, :duration)
     RETURNING ${AUDIO_CHUNK_COLUMNS}`,
    {
      chunk_id: allocated.chunk_id,
      session_id: upload.sessionId,
      content_type: probe.contentType,
      audio_key: audioKey,
      size_bytes: upload.bytes.length,
      sample_rate: probe.sampleRate,
      channels: probe.channels,
      duration: probe.duration,
    },
  );
  try {
    await store.put(audioKey, upload.bytes, {
      contentType: probe.contentType,
      metadata: { session_id: upload.sessionId, chunk_id: allocated.chunk_id },
    });
  } catch (error) {
    // Without its audio the row would promise a transcript that can never come.
    await sql.query('DELETE FROM audio_chunks WHERE chunk_id = CAST(:chunk_id AS bigint)', { chunk_id: allocated.chunk_id });
    throw error;
  }
  return toAudioChunk(row!);
};

export const findAudioChunk = async ({ sql }: Pick<Dependencies, 'sql'>, chunkId: string): Promise<AudioChunk | null> => {
  const [row] = await sql.query(`SELECT ${AUDIO_CHUNK_COLUMNS} FROM audio_chunks WHERE chunk_id = CAST(:chunk_id AS bigint)`, {
    chunk_id: chunkId,
  });
  return row ? toAudioChunk(row) : null;
};
