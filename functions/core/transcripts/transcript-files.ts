/**
 * Reading transcripts back: from the store alone, never by transcribing again. Listing reads key,
 * size and time from list pages (one request per 1,000 keys), never each object.
 */
import type { Dependencies } from '../dependencies';
import { notFound } from '../errors';
import { transcriptFilenameFor, transcriptKeyFor, transcriptPrefixFor } from '../keys';
import { listAll } from '../ports/object-store';
import type { WordTiming } from '../ports/transcriber';
import { EFFECTIVE_TRANSCRIPT_STATUS } from './status';
import { chunkIdOfTranscriptKey, type TranscriptDetails, transcriptDetailsKeyFor } from './transcript-objects';

export interface TranscriptFile {
  filename: string;
  file_path: string;
  file_size: number;
  /** A transcript object is written whole and replaced whole, so it was created when last modified. */
  created_at: string;
  modified_at: string;
}

/** A listed transcript with its chunk's track, from the chunk's row. */
export interface ListedTranscriptFile extends TranscriptFile {
  sequence: number | null;
  speaker: string | null;
  started_at: string | null;
}

/**
 * The seed's fields plus what POST /process_chunk answered, read back from the stored transcript and its
 * details sidecar, with the chunk's `speaker` and `started_at` (null when the upload named none).
 */
export interface TranscriptFileInfo extends TranscriptFile {
  exists: true;
  transcript: string;
  confidence: number;
  language: string;
  duration: number;
  speaker: string | null;
  started_at: string | null;
  words: WordTiming[];
}

export interface SessionTranscripts {
  session_id: string;
  transcripts: ListedTranscriptFile[];
  total_count: number;
}

/** GET /transcript/{session_id}/{chunk_id}. A missing file is a 404 that says why, when the row knows. */
export const getTranscriptFile = async (
  { sql, store }: Pick<Dependencies, 'sql' | 'store'>,
  sessionId: string,
  chunkId: string,
): Promise<TranscriptFileInfo> => {
  const key = transcriptKeyFor(sessionId, chunkId);
  // Three reads at once: the file's own information, the sidecar with the words, and the row with the track.
  const [object, sidecar, [row]] = await Promise.all([
    store.head(key),
    store.get(transcriptDetailsKeyFor(sessionId, chunkId)),
    sql.query<{
      transcript_status: string;
      transcript_error: string | null;
      lease_expired: boolean;
      speaker: string | null;
      started_at: string | null;
    }>(
      `SELECT ${EFFECTIVE_TRANSCRIPT_STATUS} AS transcript_status, transcript_error,
              (transcript_status = 'processing' AND transcript_lease_expires_at <= now()) AS lease_expired, speaker,
              to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS started_at
       FROM audio_chunks WHERE chunk_id = CAST(:chunk_id AS bigint) AND session_id = :session_id`,
      { chunk_id: chunkId, session_id: sessionId },
    ),
  ]);
  if (object) {
    return {
      filename: transcriptFilenameFor(sessionId, chunkId),
      file_path: store.locationOf(key),
      file_size: object.size,
      created_at: object.lastModified,
      modified_at: object.lastModified,
      exists: true,
      ...(await transcriptValues(store, key, object.metadata, sidecar?.body)),
      // The row holds the track the upload gave, whatever the stored objects say.
      speaker: row?.speaker ?? null,
      started_at: row?.started_at ?? null,
    };
  }
  const retry = `retry with POST /process_chunk/${chunkId}`;
  // A pending chunk that has been tried says what went wrong and that it is retriable, never "processing".
  const why = !row
    ? `No audio chunk ${chunkId} in session "${sessionId}"`
    : row.transcript_status === 'failed'
      ? `Transcription of chunk ${chunkId} failed (${row.transcript_error ?? 'no reason recorded'}); retry with POST /process_chunk/${chunkId}`
      : row.lease_expired
        ? `The transcript of chunk ${chunkId} is pending: the run transcribing it stopped before it finished; ${retry}`
        : row.transcript_status === 'pending' && row.transcript_error
          ? `The transcript of chunk ${chunkId} is pending: its last attempt failed (${row.transcript_error}), which a retry may cure; ${retry}`
          : `The transcript of chunk ${chunkId} is ${row.transcript_status}`;
  throw notFound('Transcript not found', why);
};

const numberOr = (value: unknown, fallback: number) => (typeof value === 'number' && Number.isFinite(value) ? value : fallback);
type StoredDetails = Partial<TranscriptDetails>;

/** The sidecar's record; null when absent or unreadable, and the text object answers instead. */
const parsedSidecar = (sidecar: Uint8Array | undefined): StoredDetails | null => {
  if (!sidecar) return null;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(sidecar).toString('utf8'));
    return typeof parsed === 'object' && parsed !== null ? (parsed as StoredDetails) : null;
  } catch {
    return null;
  }
};

/**
 * The values POST /process_chunk returned, from the sidecar. The sidecar is written just after the text,
 * so for that moment the text object and its metadata answer, without word timings. Speaker and start
 * come from the chunk's row, the one place they are kept.
 */
const transcriptValues = async (
  store: Pick<Dependencies, 'store'>['store'],
  key: string,
  metadata: Record<string, string>,
  sidecar: Uint8Array | undefined,
): Promise<Pick<TranscriptFileInfo, 'transcript' | 'confidence' | 'language' | 'duration' | 'words'>> => {
  const details = parsedSidecar(sidecar);
  if (details) {
    return {
      transcript: details.transcript ?? '',
      confidence: numberOr(details.confidence, 0),
      language: details.language ?? '',
      duration: numberOr(details.duration, 0),
      words: Array.isArray(details.words) ? details.words : [],
    };
  }
  const text = await store.get(key);
  return {
    transcript: text ? Buffer.from(text.body).toString('utf8') : '',
    confidence: numberOr(Number(metadata.confidence), 0),
    language: metadata.language ?? '',
    duration: numberOr(Number(metadata.duration), 0),
    words: [],
  };
};

const byChunkNumber = (a: { chunk: string }, b: { chunk: string }) =>
  a.chunk.length - b.chunk.length || (a.chunk < b.chunk ? -1 : a.chunk > b.chunk ? 1 : 0);

/** GET /transcripts/{session_id}: every transcript file of the session, in chunk order. */
export const listTranscriptFiles = async (
  { sql, store }: Pick<Dependencies, 'sql' | 'store'>,
  sessionId: string,
): Promise<SessionTranscripts> => {
  const found: (TranscriptFile & { chunk: string })[] = [];
  for await (const object of listAll(store, transcriptPrefixFor(sessionId))) {
    const chunk = chunkIdOfTranscriptKey(sessionId, object.key);
    if (chunk === null) continue;
    found.push({
      chunk,
      filename: transcriptFilenameFor(sessionId, chunk),
      file_path: store.locationOf(object.key),
      file_size: object.size,
      created_at: object.lastModified,
      modified_at: object.lastModified,
    });
  }
  if (found.length === 0) {
    // Only an empty listing needs the session: to tell "no transcripts yet" from "no such session".
    const [session] = await sql.query('SELECT 1 AS found FROM sessions WHERE session_id = :session_id', { session_id: sessionId });
    if (!session) throw notFound('Session not found', `No session with id "${sessionId}"`);
    return { session_id: sessionId, transcripts: [], total_count: 0 };
  }
  // One query, whatever the count: the tracks of the chunks that were uploaded with one.
  const rows = await sql.query<{ chunk_id: string; sequence: number | null; speaker: string | null; started_at: string | null }>(
    `SELECT chunk_id::text AS chunk_id, sequence, speaker, started_at FROM audio_chunks
     WHERE session_id = :session_id AND (sequence IS NOT NULL OR speaker IS NOT NULL OR started_at IS NOT NULL)`,
    { session_id: sessionId },
  );
  const tracks = new Map(rows.map((row) => [row.chunk_id, row]));
  found.sort(byChunkNumber);
  const transcripts = found.map(({ chunk, ...file }) => {
    const track = tracks.get(chunk);
    return {
      ...file,
      sequence: track?.sequence === null || track?.sequence === undefined ? null : Number(track.sequence),
      speaker: track?.speaker ?? null,
      started_at: track?.started_at === null || track?.started_at === undefined ? null : String(track.started_at),
    };
  });
  return { session_id: sessionId, transcripts, total_count: transcripts.length };
};
