/**
 * Direct upload of big chunks: the client asks for a URL, PUTs the audio straight to the store (S3 on
 * AWS, the local gateway's signed-upload route locally), and the object's arrival completes the chunk.
 * Life cycle (migration 009): the URL request reserves a chunk_id in audio_uploads; the arrival probes
 * the object with ranged reads and moves the reservation into audio_chunks, where the transcript path
 * takes it as it takes any chunk; a reservation whose URL expired and whose object never came is swept.
 * A chunk's bytes are told apart by their SHA-256, as the raw-body POST's are (docs/audio-uploads.md).
 */
import { createHash } from 'node:crypto';
import { type AudioFormat, audioFormatOf, CANONICAL_MEDIA_TYPE } from './audio/probe';
import { probeAudioObject } from './audio/probe-object';
import { AUDIO_CHUNK_COLUMNS, type AudioChunk, findBySequence, toAudioChunk } from './audio-chunks';
import { type ChunkTrack, resolveStartedAt } from './chunk-track';
import type { Dependencies } from './dependencies';
import { conflict, isDomainError, notFound, tooLarge, unsupportedMediaType } from './errors';
import { type AudioExtension, audioKeyFor, parseAudioKey } from './keys';

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
  /** The SHA-256 of the bytes to come, hex: the URL then takes only those bytes, and a retry is compared by it. */
  sha256?: string | null;
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

/** `issued`: a URL to PUT the audio to; `replayed`: the sequence's chunk is there with these very bytes, nothing to PUT. */
export type UploadOutcome = ({ outcome: 'issued' } & UploadTicket) | { outcome: 'replayed'; chunk: AudioChunk };

type UploadDependencies = Pick<Dependencies, 'sql' | 'store' | 'audio'>;

/**
 * Reserves a chunk id and presigns the PUT of its audio. A repeated request for a sequence whose upload
 * is still awaited, with the same type, size and sha256 (or none both times), gets the same chunk id and a
 * fresh URL. A sequence whose chunk already arrived (by either upload path) is replayed when the request
 * gives the chunk's SHA-256, and a conflict otherwise: without one the bytes cannot be compared.
 */
export const createAudioUpload = async ({ sql, store, audio }: UploadDependencies, request: UploadRequest): Promise<UploadOutcome> => {
  const format = audioFormatOf(request.contentType);
  if (!format || !audio.acceptedFormats.includes(format)) {
    const names = audio.acceptedFormats.map((accepted) => CANONICAL_MEDIA_TYPE[accepted]).join(', ');
    throw unsupportedMediaType('Unsupported audio media type', `content_type must be one of: ${names}`);
  }
  if (request.sizeBytes > MAX_DIRECT_UPLOAD_BYTES) {
    throw tooLarge('Audio chunk too large', `Direct uploads are limited to ${MAX_DIRECT_UPLOAD_BYTES} bytes`);
  }
  const contentType = CANONICAL_MEDIA_TYPE[format];
  const sha256 = request.sha256 ? request.sha256.toLowerCase() : null;
  const [session] = await sql.query<{ created_at: string }>('SELECT created_at FROM sessions WHERE session_id = :session_id', {
    session_id: request.sessionId,
  });
  if (!session) throw notFound('Session not found', `No session with id "${request.sessionId}"`);
  const startedAt = resolveStartedAt(request.track.startedAt, session.created_at);
  const expiresAt = new Date(Date.now() + UPLOAD_URL_SECONDS * 1000).toISOString();

  const reserved = await sql.transaction(async (tx): Promise<{ chunkId: string } | { replayed: AudioChunk }> => {
    if (request.track.sequence !== null) {
      const sequence = { session_id: request.sessionId, sequence: request.track.sequence };
      const arrived = await findBySequence({ sql: tx }, request.sessionId, request.track.sequence);
      if (arrived) {
        if (sha256 !== null && arrived.audio_sha256 === sha256) return { replayed: toAudioChunk(arrived) };
        const taken = `Sequence ${request.track.sequence} of session "${request.sessionId}" is chunk ${String(arrived.chunk_id)}, already uploaded`;
        throw conflict(
          'Audio chunk already uploaded',
          sha256 === null
            ? `${taken}; give sha256 to have a retry of the same bytes answered with it`
            : arrived.audio_sha256 === null
              ? `${taken}, and its bytes' SHA-256 was not recorded (refused on arrival, or older than its recording): they cannot be compared`
              : `${taken} with different audio; a retry must send the same bytes`,
        );
      }
      const [awaited] = await tx.query<{ chunk_id: string; content_type: string; size_bytes: string; audio_sha256: string | null }>(
        `SELECT chunk_id::text AS chunk_id, content_type, size_bytes::text AS size_bytes, audio_sha256 FROM audio_uploads
         WHERE session_id = :session_id AND sequence = :sequence FOR UPDATE`,
        sequence,
      );
      if (awaited) {
        // Every URL for one key signs the same digest (or none): the arrival trusts the reservation's.
        if (awaited.content_type !== contentType || Number(awaited.size_bytes) !== request.sizeBytes || awaited.audio_sha256 !== sha256) {
          const digest = awaited.audio_sha256 === null ? 'no sha256' : `sha256 ${awaited.audio_sha256}`;
          throw conflict(
            'Upload already requested',
            `Sequence ${request.track.sequence} awaits chunk ${awaited.chunk_id} as ${awaited.size_bytes} bytes of ${awaited.content_type} with ${digest}`,
          );
        }
        await tx.query(
          'UPDATE audio_uploads SET expires_at = CAST(:expires_at AS timestamptz) WHERE chunk_id = CAST(:chunk_id AS bigint)',
          {
            chunk_id: awaited.chunk_id,
            expires_at: expiresAt,
          },
        );
        return { chunkId: awaited.chunk_id };
      }
    }
    const [allocated] = await tx.query<{ chunk_id: string }>(
      "SELECT nextval(pg_get_serial_sequence('audio_chunks', 'chunk_id'))::text AS chunk_id",
    );
    await tx.query(
      `INSERT INTO audio_uploads (chunk_id, session_id, content_type, audio_key, size_bytes, sequence, speaker, started_at, expires_at,
         audio_sha256)
       VALUES (CAST(:chunk_id AS bigint), :session_id, :content_type, :audio_key, :size_bytes, :sequence, :speaker,
               CAST(:started_at AS timestamptz), CAST(:expires_at AS timestamptz), :audio_sha256)`,
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
        audio_sha256: sha256,
      },
    );
    return { chunkId: allocated!.chunk_id };
  });

  if ('replayed' in reserved) return { outcome: 'replayed', chunk: reserved.replayed };
  const chunkId = reserved.chunkId;
  const key = audioKeyFor(request.sessionId, chunkId, format as AudioExtension);
  const presigned = await store.presignPut(key, {
    contentType,
    size: request.sizeBytes,
    expiresInSeconds: UPLOAD_URL_SECONDS,
    ...(sha256 ? { sha256 } : {}),
  });
  return {
    outcome: 'issued',
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
  audio_sha256: string | null;
};

const AWAITED_COLUMNS = `chunk_id::text AS chunk_id, session_id, content_type, audio_key, size_bytes::text AS size_bytes, sequence,
  speaker, started_at, audio_sha256`;

/** The object's SHA-256, hex, read piece by piece: a 500 MB upload is never held in memory. */
const sha256OfObject = async (store: Dependencies['store'], key: string): Promise<string | null> => {
  const body = await store.getStream(key);
  if (!body) return null;
  const hash = createHash('sha256');
  for await (const piece of body) hash.update(piece);
  return hash.digest('hex');
};

/**
 * The arrival of a direct upload's object: probes it with ranged reads and turns the reservation into
 * the chunk row, pending transcription. Audio that does not probe, or is too long, becomes a chunk
 * marked failed with the reason (there is no request left to answer), and its object is removed.
 * Null when there is nothing to complete: not a direct upload, one already completed, one another
 * delivery of the same event completes (S3 delivers at least once: the reservation is claimed by
 * deleting it, so only one delivery makes the row), or a copy of the same bytes a raw-body upload
 * stored under the sequence meanwhile. An object with neither reservation nor chunk (it came after the
 * sweep, or after its session was erased) is removed.
 */
export const completeAudioUpload = async (
  { sql, store, audio, logger }: Pick<Dependencies, 'sql' | 'store' | 'audio' | 'logger'>,
  key: string,
): Promise<AudioChunk | null> => {
  const [upload] = await sql.query<AwaitedUpload>(`SELECT ${AWAITED_COLUMNS} FROM audio_uploads WHERE audio_key = :audio_key`, {
    audio_key: key,
  });
  if (!upload) {
    await removeUnowned({ sql, store, logger }, key);
    return null;
  }
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
  // A digest the URL signed was checked by the store as the bytes came in; otherwise the bytes are read once to hash them.
  const audioSha256 = upload.audio_sha256 ?? (refusal ? null : await sha256OfObject(store, key));
  const claimed = await sql.transaction(async (tx) => {
    // Claimed by deleting it: a concurrent delivery of the same event waits here, then finds nothing to claim.
    const [reservation] = await tx.query<AwaitedUpload>(
      `DELETE FROM audio_uploads WHERE chunk_id = CAST(:chunk_id AS bigint) RETURNING ${AWAITED_COLUMNS}`,
      { chunk_id: upload.chunk_id },
    );
    if (!reservation) return { outcome: 'claimed elsewhere' as const };
    const [taken] =
      reservation.sequence === null
        ? []
        : await tx.query<{ chunk_id: string; audio_sha256: string | null }>(
            'SELECT chunk_id::text AS chunk_id, audio_sha256 FROM audio_chunks WHERE session_id = :session_id AND sequence = :sequence',
            { session_id: reservation.session_id, sequence: reservation.sequence },
          );
    // The same bytes already stored under the sequence (a raw-body retry won the race): no second chunk.
    if (taken && audioSha256 !== null && taken.audio_sha256 === audioSha256) return { outcome: 'duplicate' as const, of: taken.chunk_id };
    const [inserted] = await tx.query(
      `INSERT INTO audio_chunks (chunk_id, session_id, content_type, audio_key, size_bytes, sample_rate, channels, duration,
         sequence, speaker, started_at, transcript_status, transcript_error, audio_sha256)
       VALUES (CAST(:chunk_id AS bigint), :session_id, :content_type, :audio_key, CAST(:size_bytes AS integer), :sample_rate,
         :channels, :duration, :sequence, :speaker, CAST(:started_at AS timestamptz), :status, :error, :audio_sha256)
       RETURNING ${AUDIO_CHUNK_COLUMNS}`,
      {
        chunk_id: reservation.chunk_id,
        session_id: reservation.session_id,
        content_type: reservation.content_type,
        audio_key: reservation.audio_key,
        size_bytes: object.size,
        sample_rate: probe?.sampleRate ?? 0,
        channels: probe?.channels ?? 0,
        duration: probe?.duration ?? 0,
        // A raw-body upload of other bytes may have taken the sequence meanwhile: that one keeps it, and this
        // chunk fails. Refused audio frees its sequence too, so the platform's corrected upload can take it.
        sequence: taken || refusal ? null : reservation.sequence,
        speaker: reservation.speaker,
        started_at: reservation.started_at,
        status: refusal || taken ? 'failed' : 'pending',
        error: refusal
          ? `${refusal}${reservation.sequence === null ? '' : ` (sequence ${reservation.sequence} left free for a corrected upload)`}`
          : taken
            ? `Sequence ${reservation.sequence} was uploaded meanwhile as chunk ${taken.chunk_id}`
            : null,
        audio_sha256: audioSha256,
      },
    );
    return { outcome: 'inserted' as const, row: inserted! };
  });
  if (claimed.outcome === 'claimed elsewhere') {
    // Another delivery made the chunk, or the session was erased meanwhile and the object is now nobody's.
    await removeUnowned({ sql, store, logger }, key);
    return null;
  }
  if (claimed.outcome === 'duplicate') {
    await store.delete([key]);
    logger.info('Direct upload repeats a chunk already stored; removed', { ...ids, duplicate_of: claimed.of });
    return null;
  }
  const chunk = toAudioChunk(claimed.row);
  if (chunk.transcript_status === 'failed') {
    // Nothing is kept of audio that was refused.
    await store.delete([key]);
    logger.warn('Direct upload refused on arrival', { ...ids, error: chunk.transcript_error });
  } else {
    logger.info('Direct upload arrived', { ...ids, size_bytes: object.size, duration: chunk.duration });
  }
  return chunk;
};

/** Removes an audio object that no chunk row holds (none awaits it either): nothing will ever read it. */
const removeUnowned = async ({ sql, store, logger }: Pick<Dependencies, 'sql' | 'store' | 'logger'>, key: string) => {
  const chunkId = parseAudioKey(key)?.chunkId;
  if (!chunkId) return;
  const [owned] = await sql.query('SELECT 1 AS owned FROM audio_chunks WHERE chunk_id = CAST(:chunk_id AS bigint)', { chunk_id: chunkId });
  if (owned || !(await store.head(key))) return;
  await store.delete([key]);
  logger.warn('Removed an audio object that no reservation or chunk awaits', { key });
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
