/**
 * Audio chunk ingest: validate the bytes, record the chunk, store its audio. The row is committed
 * before the object is written, so the ObjectCreated event that starts transcription always finds it.
 * A chunk with a `sequence` is stored once: a retry with the same bytes gets the existing chunk, other
 * bytes under that number a 409. A MediaRecorder timeslice blob after the first is stored whole, behind
 * its recording's track header (kept from the first blob), so it decodes like any file.
 */
import { createHash } from 'node:crypto';
import { type AudioProbe, acceptedFormatOf, isContinuationBlob, joinTrackHeader, probeAudio } from './audio/probe';
import { type ChunkTrack, NO_TRACK, resolveStartedAt } from './chunk-track';
import type { Dependencies } from './dependencies';
import { conflict, invalidInput, notFound, tooLarge } from './errors';
import { audioKeyFor, trackHeaderKeyFor } from './keys';
import type { SqlRunner } from './ports/sql';
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
  sequence: number | null;
  speaker: string | null;
  /** ISO 8601 UTC. */
  started_at: string | null;
  created_at: string;
}

export const AUDIO_CHUNK_COLUMNS = `chunk_id, session_id, content_type, audio_key, size_bytes, sample_rate, channels, duration,
  ${EFFECTIVE_TRANSCRIPT_STATUS} AS transcript_status, transcript_error, transcript_lease_expires_at, sequence, speaker, started_at,
  created_at`;

const stringOrNull = (value: unknown) => (value === null || value === undefined ? null : String(value));

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
  transcript_lease_expires_at: stringOrNull(row.transcript_lease_expires_at),
  sequence: row.sequence === null || row.sequence === undefined ? null : Number(row.sequence),
  speaker: stringOrNull(row.speaker),
  started_at: stringOrNull(row.started_at),
  created_at: String(row.created_at),
});

const roundSeconds = (seconds: number) => Math.round(seconds * 10) / 10;

export interface AudioUpload {
  sessionId: string;
  contentType: string | undefined;
  bytes: Uint8Array;
  track?: ChunkTrack;
}

/**
 * `created`: a new chunk; `replayed`: a retry of a stored one (same sequence, same bytes);
 * `track-header`: a recorder's first blob that holds its header but no audio yet (fragmented MP4).
 */
export type IngestResult =
  | { outcome: 'created' | 'replayed'; chunk: AudioChunk }
  | { outcome: 'track-header'; sessionId: string; contentType: string; track: ChunkTrack };

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Stores one upload: a new chunk, the existing one for a retry, or only a recorder's track header. */
export const receiveAudioChunk = async (
  { sql, store, audio }: Pick<Dependencies, 'sql' | 'store' | 'audio'>,
  upload: AudioUpload,
): Promise<IngestResult> => {
  const track = upload.track ?? NO_TRACK;
  if (upload.bytes.length > audio.maxBytes) {
    throw tooLarge('Audio chunk too large', `Audio chunks are limited to ${audio.maxBytes} bytes`);
  }
  const format = acceptedFormatOf(upload.contentType, audio.acceptedFormats);
  const audioSha256 = sha256(upload.bytes);
  // A retry is told by its bytes alone, before any decoding: its track header may have been replaced since.
  if (track.sequence !== null) {
    const existing = await findBySequence({ sql }, upload.sessionId, track.sequence);
    if (existing) return replayOf(existing, audioSha256, track.sequence);
  }
  let audioBytes = upload.bytes;
  if (isContinuationBlob(upload.bytes, format)) {
    const header = await store.get(trackHeaderKeyFor(upload.sessionId, track.speaker, format));
    if (!header) {
      const whose = track.speaker === null ? 'without a speaker' : `of speaker "${track.speaker}"`;
      throw invalidInput(
        'Track header missing',
        `This ${format} blob continues a recording, but no first blob (with the header) of session "${upload.sessionId}" ${whose} has been uploaded; upload the recorder's first blob first`,
      );
    }
    audioBytes = joinTrackHeader(format, header.body, upload.bytes);
  }
  const probe = probeAudio(audioBytes, upload.contentType, audio.acceptedFormats);
  // The inserted-chunk function streams audio at about real time, so its timeout bounds the length it can take.
  if (audio.maxSeconds !== undefined && probe.duration > audio.maxSeconds) {
    throw tooLarge(
      'Audio chunk too long',
      `Audio chunks are limited to ${audio.maxSeconds} seconds; this one holds ${roundSeconds(probe.duration)}`,
    );
  }
  const [session] = await sql.query<{ chunk_id: string; created_at: string }>(
    `SELECT nextval(pg_get_serial_sequence('audio_chunks', 'chunk_id'))::text AS chunk_id, created_at
     FROM sessions WHERE session_id = :session_id`,
    { session_id: upload.sessionId },
  );
  if (!session) throw notFound('Session not found', `No session with id "${upload.sessionId}"`);
  if (probe.trackHeader) await storeTrackHeader({ store }, upload.sessionId, track, probe);
  if (!(probe.duration > 0)) return { outcome: 'track-header', sessionId: upload.sessionId, contentType: probe.contentType, track };
  const audioKey = audioKeyFor(upload.sessionId, session.chunk_id, probe.extension);
  // A concurrent upload of the same sequence may insert first: the unique index keeps one, and this one then reads it.
  const [row] = await sql.query(
    `INSERT INTO audio_chunks (chunk_id, session_id, content_type, audio_key, size_bytes, sample_rate, channels, duration,
                               sequence, speaker, started_at, audio_sha256)
     VALUES (CAST(:chunk_id AS bigint), :session_id, :content_type, :audio_key, :size_bytes, :sample_rate, :channels, :duration,
             CAST(:sequence AS integer), :speaker, CAST(:started_at AS timestamptz), :audio_sha256)
     ON CONFLICT (session_id, sequence) WHERE sequence IS NOT NULL DO NOTHING
     RETURNING ${AUDIO_CHUNK_COLUMNS}`,
    {
      chunk_id: session.chunk_id,
      session_id: upload.sessionId,
      content_type: probe.contentType,
      audio_key: audioKey,
      size_bytes: audioBytes.length,
      sample_rate: probe.sampleRate,
      channels: probe.channels,
      duration: probe.duration,
      sequence: track.sequence,
      speaker: track.speaker,
      started_at: resolveStartedAt(track.startedAt, session.created_at),
      audio_sha256: audioSha256,
    },
  );
  if (!row) {
    const winner = await findBySequence({ sql }, upload.sessionId, track.sequence!);
    if (!winner) throw conflict('Audio chunk conflict', 'Another upload of this sequence number was being stored; try again');
    return replayOf(winner, audioSha256, track.sequence!);
  }
  try {
    await store.put(audioKey, audioBytes, {
      contentType: probe.contentType,
      metadata: { session_id: upload.sessionId, chunk_id: session.chunk_id },
    });
  } catch (error) {
    // Without its audio the row would promise a transcript that can never come.
    await sql.query('DELETE FROM audio_chunks WHERE chunk_id = CAST(:chunk_id AS bigint)', { chunk_id: session.chunk_id });
    throw error;
  }
  return { outcome: 'created', chunk: toAudioChunk(row) };
};

/** Stores an upload that must hold audio, and returns its chunk. */
export const ingestAudioChunk = async (deps: Pick<Dependencies, 'sql' | 'store' | 'audio'>, upload: AudioUpload): Promise<AudioChunk> => {
  const result = await receiveAudioChunk(deps, upload);
  if (result.outcome === 'track-header') throw invalidInput('Invalid audio', 'The audio holds no samples');
  return result.chunk;
};

/** Kept per session, speaker and format; a recorder that starts again replaces it. */
const storeTrackHeader = async ({ store }: Pick<Dependencies, 'store'>, sessionId: string, track: ChunkTrack, probe: AudioProbe) => {
  await store.put(trackHeaderKeyFor(sessionId, track.speaker, probe.extension), probe.trackHeader!, {
    contentType: probe.contentType,
    metadata: { session_id: sessionId },
  });
};

/** The row holding a session's sequence, with its bytes' SHA-256; read in a caller's transaction when given one. */
export const findBySequence = async ({ sql }: { sql: SqlRunner }, sessionId: string, sequence: number) => {
  const [row] = await sql.query(
    `SELECT ${AUDIO_CHUNK_COLUMNS}, audio_sha256 FROM audio_chunks WHERE session_id = :session_id AND sequence = CAST(:sequence AS integer)`,
    { session_id: sessionId, sequence },
  );
  return row ?? null;
};

const replayOf = (row: Record<string, unknown>, audioSha256: string, sequence: number): IngestResult => {
  if (row.audio_sha256 !== audioSha256) {
    throw conflict(
      'Audio chunk conflict',
      `Chunk ${String(row.chunk_id)} already holds sequence ${sequence} of this session with different audio; a retry must send the same bytes`,
    );
  }
  return { outcome: 'replayed', chunk: toAudioChunk(row) };
};

export const findAudioChunk = async ({ sql }: Pick<Dependencies, 'sql'>, chunkId: string): Promise<AudioChunk | null> => {
  const [row] = await sql.query(`SELECT ${AUDIO_CHUNK_COLUMNS} FROM audio_chunks WHERE chunk_id = CAST(:chunk_id AS bigint)`, {
    chunk_id: chunkId,
  });
  return row ? toAudioChunk(row) : null;
};
