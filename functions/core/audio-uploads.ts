/**
 * Direct upload of big chunks: the client asks for a URL, PUTs the audio straight to the store (S3 on
 * AWS, the local gateway's signed-upload route locally), and the object's arrival completes the chunk.
 * Life cycle (migration 009): the URL request reserves a chunk_id in audio_uploads; the arrival probes
 * the object with ranged reads and moves the reservation into audio_chunks, where the transcript path
 * takes it as it takes any chunk; a reservation whose URL expired and whose object never came is swept.
 */
import { type AudioFormat, audioFormatOf, CANONICAL_MEDIA_TYPE } from './audio/probe';
import { probeAudioObject } from './audio/probe-object';
import { AUDIO_CHUNK_COLUMNS, type AudioChunk, toAudioChunk } from './audio-chunks';
import { type ChunkTrack, resolveStartedAt } from './chunk-track';
import type { Dependencies } from './dependencies';
import { conflict, isDomainError, notFound, tooLarge, unsupportedMediaType } from './errors';
import { type AudioExtension, audioKeyFor } from './keys';

/** The largest direct upload: well under S3's 5 GB single PUT, and hours of compressed speech. */
export const MAX_DIRECT_UPLOAD_BYTES = 500 * 1024 * 1024;
/** The longest direct upload, in seconds: longer audio is refused when it arrives. */
export const MAX_DIRECT_UPLOAD_SECONDS = 4 * 3600;
/** How long an upload URL stays valid. */
export const UPLOAD_URL_SECONDS = 3600;
/** S3 checks a presigned URL's expiry when the PUT starts, so a slow upload may land after it: the sweep waits this long. */
export const UPLOAD_GRACE_SECONDS = 3600;

export interface UploadRequest {
  sessionId: string;
  contentType: string;
  sizeBytes: number;
  track: ChunkTrack;
}

export interface UploadTicket {
  chunk_id: string;
  session_id: string;
  upload_url: string;
  method: 'PUT';
  headers: Record<string, string>;
  expires_at: string;
}

type UploadDependencies = Pick<Dependencies, 'sql' | 'store' | 'audio'>;

/**
 * Reserves a chunk id and presigns the PUT of its audio. A repeated request for a sequence whose upload
 * is still awaited, with the same type and size, gets the same chunk id and a fresh URL; a sequence
 * whose chunk already arrived, or awaited with another type or size, is a conflict.
 */
export const createAudioUpload = async ({ sql, store, audio }: UploadDependencies, request: UploadRequest): Promise<UploadTicket> => {
  const format = audioFormatOf(request.contentType);
  if (!format || !audio.acceptedFormats.includes(format)) {
    const names = audio.acceptedFormats.map((accepted) => CANONICAL_MEDIA_TYPE[accepted]).join(', ');
    throw unsupportedMediaType('Unsupported audio media type', `content_type must be one of: ${names}`);
  }
  if (request.sizeBytes > MAX_DIRECT_UPLOAD_BYTES) {
    throw tooLarge('Audio chunk too large', `Direct uploads are limited to ${MAX_DIRECT_UPLOAD_BYTES} bytes`);
  }
  const contentType = CANONICAL_MEDIA_TYPE[format];
  const [session] = await sql.query<{ created_at: string }>('SELECT created_at FROM sessions WHERE session_id = :session_id', {
    session_id: request.sessionId,
  });
  if (!session) throw notFound('Session not found', `No session with id "${request.sessionId}"`);
  const startedAt = resolveStartedAt(request.track.startedAt, session.created_at);
  const expiresAt = new Date(Date.now() + UPLOAD_URL_SECONDS * 1000).toISOString();

  const chunkId = await sql.transaction(async (tx) => {
    if (request.track.sequence !== null) {
      const sequence = { session_id: request.sessionId, sequence: request.track.sequence };
      const [arrived] = await tx.query<{ chunk_id: string }>(
        'SELECT chunk_id::text AS chunk_id FROM audio_chunks WHERE session_id = :session_id AND sequence = :sequence',
        sequence,
      );
      if (arrived) {
        throw conflict(
          'Audio chunk already uploaded',
          `Sequence ${request.track.sequence} of session "${request.sessionId}" is chunk ${arrived.chunk_id}, already uploaded`,
        );
      }
      const [awaited] = await tx.query<{ chunk_id: string; content_type: string; size_bytes: string }>(
        `SELECT chunk_id::text AS chunk_id, content_type, size_bytes::text AS size_bytes FROM audio_uploads
         WHERE session_id = :session_id AND sequence = :sequence FOR UPDATE`,
        sequence,
      );
      if (awaited) {
        if (awaited.content_type !== contentType || Number(awaited.size_bytes) !== request.sizeBytes) {
          throw conflict(
            'Upload already requested',
            `Sequence ${request.track.sequence} awaits chunk ${awaited.chunk_id} as ${awaited.size_bytes} bytes of ${awaited.content_type}`,
          );
        }
        await tx.query(
          'UPDATE audio_uploads SET expires_at = CAST(:expires_at AS timestamptz) WHERE chunk_id = CAST(:chunk_id AS bigint)',
          {
            chunk_id: awaited.chunk_id,
            expires_at: expiresAt,
          },
        );
        return awaited.chunk_id;
      }
    }
    const [allocated] = await tx.query<{ chunk_id: string }>(
      "SELECT nextval(pg_get_serial_sequence('audio_chunks', 'chunk_id'))::text AS chunk_id",
    );
    await tx.query(
      `INSERT INTO audio_uploads (chunk_id, session_id, content_type, audio_key, size_bytes, sequence, speaker, started_at, expires_at)
       VALUES (CAST(:chunk_id AS bigint), :session_id, :content_type, :audio_key, :size_bytes, :sequence, :speaker,
               CAST(:started_at AS timestamptz), CAST(:expires_at AS timestamptz))`,
      {
        chunk_id: allocated!.chunk_id,
        session_id: request.sessionId,
        content_type: contentType,
        audio_key: audioKeyFor(request.sessionId, allocated!.chunk_id, format as AudioExtension),
        size_bytes: request.sizeBytes,
        sequence: request.track.sequence,
        speaker: request.track.speaker,
        started_at: startedAt,
        expires_at: expiresAt,
      },
    );
    return allocated!.chunk_id;
  });

  const key = audioKeyFor(request.sessionId, chunkId, format as AudioExtension);
  const presigned = await store.presignPut(key, { contentType, size: request.sizeBytes, expiresInSeconds: UPLOAD_URL_SECONDS });
  return {
    chunk_id: chunkId,
    session_id: request.sessionId,
    upload_url: presigned.url,
    method: presigned.method,
    headers: presigned.headers,
    expires_at: presigned.expiresAt,
  };
};

type AwaitedUpload = {
  chunk_id: string;
  session_id: string;
  content_type: string;
  audio_key: string;
  size_bytes: string;
  sequence: number | null;
  speaker: string | null;
  started_at: string | null;
};

/**
 * The arrival of a direct upload's object: probes it with ranged reads and turns the reservation into
 * the chunk row, pending transcription. Audio that does not probe, or is too long, becomes a chunk
 * marked failed with the reason (there is no request left to answer), and its object is removed.
 * Null when the key has no reservation: not a direct upload, or one already completed.
 */
export const completeAudioUpload = async (
  { sql, store, audio, logger }: Pick<Dependencies, 'sql' | 'store' | 'audio' | 'logger'>,
  key: string,
): Promise<AudioChunk | null> => {
  const [upload] = await sql.query<AwaitedUpload>(
    `SELECT chunk_id::text AS chunk_id, session_id, content_type, audio_key, size_bytes::text AS size_bytes, sequence, speaker, started_at
     FROM audio_uploads WHERE audio_key = :audio_key`,
    { audio_key: key },
  );
  if (!upload) return null;
  const object = await store.head(key);
  if (!object) return null;
  const ids = { chunk_id: upload.chunk_id, session_id: upload.session_id };
  let probe: Awaited<ReturnType<typeof probeAudioObject>> | undefined;
  let refusal: string | undefined;
  try {
    if (object.size !== Number(upload.size_bytes)) {
      throw tooLarge('Wrong size', `The upload holds ${object.size} bytes, not the ${upload.size_bytes} its URL was issued for`);
    }
    probe = await probeAudioObject(
      async (start, end) => (await store.getRange(key, start, end)) ?? new Uint8Array(),
      object.size,
      upload.content_type,
      [audioFormatOf(upload.content_type) as AudioFormat].filter((format) => audio.acceptedFormats.includes(format)),
    );
    if (probe.duration > MAX_DIRECT_UPLOAD_SECONDS) {
      throw tooLarge('Audio chunk too long', `Direct uploads are limited to ${MAX_DIRECT_UPLOAD_SECONDS} seconds of audio`);
    }
  } catch (error) {
    if (!isDomainError(error) || error.kind === 'dependency_unavailable') throw error;
    refusal = `${error.message}: ${error.detail}`;
  }
  const row = await sql.transaction(async (tx) => {
    const [taken] =
      upload.sequence === null
        ? []
        : await tx.query<{ chunk_id: string }>(
            'SELECT chunk_id::text AS chunk_id FROM audio_chunks WHERE session_id = :session_id AND sequence = :sequence',
            { session_id: upload.session_id, sequence: upload.sequence },
          );
    const [inserted] = await tx.query(
      `INSERT INTO audio_chunks (chunk_id, session_id, content_type, audio_key, size_bytes, sample_rate, channels, duration,
         sequence, speaker, started_at, transcript_status, transcript_error)
       SELECT chunk_id, session_id, content_type, audio_key, CAST(:size_bytes AS integer), :sample_rate, :channels, :duration,
         CASE WHEN :sequence_free THEN sequence END, speaker, started_at, :status, :error
       FROM audio_uploads WHERE chunk_id = CAST(:chunk_id AS bigint)
       RETURNING ${AUDIO_CHUNK_COLUMNS}`,
      {
        chunk_id: upload.chunk_id,
        size_bytes: object.size,
        sample_rate: probe?.sampleRate ?? 0,
        channels: probe?.channels ?? 0,
        duration: probe?.duration ?? 0,
        // A raw-body upload may have taken the sequence meanwhile: that one keeps it, and this chunk fails.
        sequence_free: !taken,
        status: refusal || taken ? 'failed' : 'pending',
        error: refusal ?? (taken ? `Sequence ${upload.sequence} was uploaded meanwhile as chunk ${taken.chunk_id}` : null),
      },
    );
    await tx.query('DELETE FROM audio_uploads WHERE chunk_id = CAST(:chunk_id AS bigint)', { chunk_id: upload.chunk_id });
    return inserted;
  });
  if (!row) return null;
  const chunk = toAudioChunk(row);
  if (chunk.transcript_status === 'failed') {
    // Nothing is kept of audio that was refused.
    await store.delete([key]);
    logger.warn('Direct upload refused on arrival', { ...ids, error: chunk.transcript_error });
  } else {
    logger.info('Direct upload arrived', { ...ids, size_bytes: object.size, duration: chunk.duration });
  }
  return chunk;
};

/** A direct upload refused on arrival: its row has no audio facts (a probed chunk has a rate of 8 kHz or more). */
export const refusedOnArrival = (chunk: Pick<AudioChunk, 'transcript_status' | 'sample_rate'>): boolean =>
  chunk.transcript_status === 'failed' && chunk.sample_rate === 0;

/**
 * Removes reservations whose URL expired more than the grace ago and whose object never arrived. One
 * whose object is there is left to its arrival event (which Lambda retries); it is not this sweep's to drop.
 */
export const expireAudioUploads = async (
  { sql, store }: Pick<Dependencies, 'sql' | 'store'>,
  now: Date,
): Promise<{ expired: string[]; awaitingArrival: string[] }> => {
  const due = await sql.query<{ chunk_id: string; audio_key: string }>(
    `SELECT chunk_id::text AS chunk_id, audio_key FROM audio_uploads
     WHERE expires_at < CAST(:cutoff AS timestamptz) ORDER BY expires_at LIMIT 500`,
    { cutoff: new Date(now.getTime() - UPLOAD_GRACE_SECONDS * 1000).toISOString() },
  );
  const expired: string[] = [];
  const awaitingArrival: string[] = [];
  for (const upload of due) {
    if (await store.head(upload.audio_key)) {
      awaitingArrival.push(upload.chunk_id);
      continue;
    }
    await sql.query('DELETE FROM audio_uploads WHERE chunk_id = CAST(:chunk_id AS bigint)', { chunk_id: upload.chunk_id });
    expired.push(upload.chunk_id);
  }
  return { expired, awaitingArrival };
};
