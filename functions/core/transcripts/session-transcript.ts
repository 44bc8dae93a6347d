/**
 * GET /sessions/{session_id}/transcript: every chunk's words on one session timeline, as JSON, text or
 * captions. Reads the store in 1 + D requests for D transcribed chunks in range: one query for the
 * session's chunk rows (status and duration, which place every chunk), then each done chunk's details
 * sidecar once. Chunks pending, processing or failed are gaps, never transcribed here.
 */
import type { Dependencies } from '../dependencies';
import { notFound, tooLarge } from '../errors';
import type { WordTiming } from '../ports/transcriber';
import { type TranscriptGap, toSrt, toText, toVtt } from './captions';
import { EFFECTIVE_TRANSCRIPT_STATUS } from './status';
import { buildSegments, chunkOffsets, type Segment, type TimelineChunkInput } from './timeline';
import { type TranscriptDetails, transcriptDetailsKeyFor } from './transcript-objects';

export type TranscriptFormat = 'json' | 'txt' | 'srt' | 'vtt';

/** Lambda's synchronous response limit, as the twin and AWS count it (the whole JSON result). */
export const LAMBDA_RESPONSE_LIMIT_BYTES = 6_291_556;
/** Room for the envelope, status and headers around the body. */
const RESPONSE_MARGIN_BYTES = 4096;

const CONTENT_TYPES: Record<Exclude<TranscriptFormat, 'json'>, string> = {
  txt: 'text/plain; charset=utf-8',
  srt: 'application/x-subrip; charset=utf-8',
  vtt: 'text/vtt; charset=utf-8',
};

/** Sidecars read at once: enough to hide latency, few enough to stay polite to S3 and the file system. */
const READ_CONCURRENCY = 8;

export interface TimelineChunk {
  chunk_id: string;
  offset: number;
  duration: number;
  transcript_status: string;
}

export interface SessionTranscript {
  session_id: string;
  /** Seconds: where the session's last chunk ends. */
  duration: number;
  segments: Segment[];
  chunks: TimelineChunk[];
  gaps: TranscriptGap[];
}

/** A text format's body, sent as is instead of the envelope. */
export interface RenderedTranscript {
  contentType: string;
  body: string;
}

export interface SessionTranscriptRequest {
  sessionId: string;
  format: TranscriptFormat;
  /** Inclusive chunk id bounds, for pages of a session too large for one answer. */
  fromChunk?: string | undefined;
  toChunk?: string | undefined;
  /** The response limit; tests set a small one. */
  maxResponseBytes?: number;
}

type ChunkRow = {
  chunk_id: string | null;
  duration: number | null;
  transcript_status: string | null;
  transcript_error: string | null;
  /** Seconds from the session's creation to the chunk's started_at, when the upload said it. */
  started_offset: number | string | null;
};

const gapReason = (row: ChunkRow): string => {
  if (row.transcript_status === 'failed')
    return `Transcription failed (${row.transcript_error ?? 'no reason recorded'}); retry with POST /process_chunk/${row.chunk_id}`;
  if (row.transcript_status === 'processing') return 'Being transcribed';
  return row.transcript_error ? `Not transcribed yet: its last attempt failed (${row.transcript_error})` : 'Not transcribed yet';
};

const mapLimited = async <T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> => {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
};

const inRange = (chunkId: string, from?: string, to?: string) =>
  (from === undefined || BigInt(chunkId) >= BigInt(from)) && (to === undefined || BigInt(chunkId) <= BigInt(to));

const isWord = (value: unknown): value is WordTiming =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as WordTiming).word === 'string' &&
  typeof (value as WordTiming).start === 'number' &&
  typeof (value as WordTiming).end === 'number';

/** The timeline fields of a sidecar; fields a later writer may add (speaker, started_at) are read when present. */
const readDetails = async (store: Dependencies['store'], sessionId: string, chunkId: string) => {
  const stored = await store.get(transcriptDetailsKeyFor(sessionId, chunkId));
  if (!stored) return null;
  let details: Partial<TranscriptDetails> & { speaker?: unknown };
  try {
    details = JSON.parse(Buffer.from(stored.body).toString('utf8'));
  } catch {
    // A sidecar that is not JSON is as good as missing: the chunk shows as a gap that says how to rewrite it.
    return null;
  }
  if (typeof details !== 'object' || details === null) return null;
  return {
    transcript: typeof details.transcript === 'string' ? details.transcript : '',
    speaker: typeof details.speaker === 'string' ? details.speaker : null,
    words: Array.isArray(details.words)
      ? details.words
          .filter(isWord)
          .map((word) => ({ word: word.word, start: word.start, end: word.end, confidence: Number(word.confidence) || 0 }))
      : [],
  };
};

export const sessionTranscript = async (
  { sql, store }: Pick<Dependencies, 'sql' | 'store'>,
  request: SessionTranscriptRequest,
): Promise<SessionTranscript | RenderedTranscript> => {
  const { sessionId } = request;
  const rows = await sql.query<ChunkRow>(
    `SELECT a.chunk_id::text AS chunk_id, a.duration, ${EFFECTIVE_TRANSCRIPT_STATUS} AS transcript_status,
            left(a.transcript_error, 200) AS transcript_error,
            EXTRACT(EPOCH FROM (a.started_at - s.created_at))::float8 AS started_offset
     FROM sessions s LEFT JOIN audio_chunks a ON a.session_id = s.session_id
     WHERE s.session_id = :session_id
     ORDER BY a.chunk_id`,
    { session_id: sessionId },
  );
  if (rows.length === 0) throw notFound('Session not found', `No session with id "${sessionId}"`);
  const all = rows.filter((row): row is ChunkRow & { chunk_id: string } => row.chunk_id !== null);
  const startedAt = (row: ChunkRow) =>
    row.started_offset === null || row.started_offset === undefined ? null : Number(row.started_offset);
  const offsets = chunkOffsets(all.map((row) => ({ duration: Number(row.duration), started_at: startedAt(row) })));
  // The latest end: with started_at, chunks of two speakers overlap and a later chunk may end first.
  const duration = Math.round(Math.max(0, ...all.map((row, i) => offsets[i]! + Number(row.duration))) * 1000) / 1000;

  const picked = all.flatMap((row, i) => (inRange(row.chunk_id, request.fromChunk, request.toChunk) ? [{ row, offset: offsets[i]! }] : []));
  const details = await mapLimited(picked, READ_CONCURRENCY, ({ row }) =>
    row.transcript_status === 'done' ? readDetails(store, sessionId, row.chunk_id) : Promise.resolve(null),
  );

  const gaps: TranscriptGap[] = [];
  const timeline: TimelineChunkInput[] = [];
  const timelineOffsets: number[] = [];
  picked.forEach(({ row, offset }, i) => {
    const found = details[i];
    if (row.transcript_status !== 'done') {
      gaps.push({ chunk_id: row.chunk_id, status: row.transcript_status ?? 'pending', reason: gapReason(row) });
    } else if (!found) {
      gaps.push({
        chunk_id: row.chunk_id,
        status: 'missing',
        reason: `Its transcript details are not stored; POST /process_chunk/${row.chunk_id} writes them again`,
      });
    } else {
      timeline.push({ chunk_id: row.chunk_id, duration: Number(row.duration), started_at: startedAt(row), ...found });
      timelineOffsets.push(offset);
    }
  });
  // In time order: tracks with started_at interleave (a stable sort keeps chunk order otherwise).
  const segments = buildSegments(timeline, timelineOffsets).sort((a, b) => a.start - b.start);
  const chunks = picked.map(({ row, offset }) => ({
    chunk_id: row.chunk_id,
    offset,
    duration: Number(row.duration),
    transcript_status: row.transcript_status ?? 'pending',
  }));

  const document: SessionTranscript = { session_id: sessionId, duration, segments, chunks, gaps };
  const rendered: RenderedTranscript | null =
    request.format === 'json'
      ? null
      : {
          contentType: CONTENT_TYPES[request.format],
          body:
            request.format === 'srt'
              ? toSrt(segments)
              : request.format === 'vtt'
                ? toVtt(segments)
                : toText(
                    chunks.map((chunk) => chunk.chunk_id),
                    segments,
                    gaps,
                  ),
        };
  // The body travels as a JSON string inside Lambda's result, escaped: measure it that way.
  const body = rendered ? rendered.body : JSON.stringify(document);
  const bytes = Buffer.byteLength(JSON.stringify(body)) + RESPONSE_MARGIN_BYTES;
  const limit = request.maxResponseBytes ?? LAMBDA_RESPONSE_LIMIT_BYTES;
  if (bytes > limit) {
    throw tooLarge(
      'Transcript too large',
      `The ${request.format} transcript of ${picked.length} chunks needs ${bytes} bytes, over the ${limit} a response can carry; ` +
        'page it with ?from_chunk=&to_chunk= (chunk ids, both inclusive)',
    );
  }
  return rendered ?? document;
};
