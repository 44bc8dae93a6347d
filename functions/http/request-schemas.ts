/**
 * What every API route accepts, by handler name: its handler validates requests with these schemas and
 * the OpenAPI document is built from them, so neither needs the other loaded.
 */

import { MAX_SEQUENCE, SPEAKER_PATTERN } from '../core/chunk-track';
import { ChunkId, RowId, SessionId, SnapshotId } from '../core/identifiers';
import type { routes } from '../routes';
import * as z from '../validation';

export interface RequestSchemas {
  params?: z.ZodMiniType;
  query?: z.ZodMiniType;
  /** 'raw': the body is passed through as bytes (audio uploads). */
  body?: z.ZodMiniType | 'raw';
  /** Status on success; 200 unless given. */
  status?: number;
  /** Other success statuses the route answers with (an upload's retry: 200). */
  alsoAnswers?: readonly number[];
  /** Answers 503 with Retry-After when the work is under way and a retry later will succeed; says when. */
  retryLater?: string;
}

const SessionPath = z.object({ session_id: SessionId });

/** Free-form JSON kept with a row; bounded so a row stays well under the RDS Data API's 64 KB limit. */
const Metadata = z
  .record(z.string(), z.unknown())
  .check(z.refine((value) => Buffer.byteLength(JSON.stringify(value)) <= 8192, 'metadata must serialize to at most 8 KiB of JSON'));

/** A text field bounded by its UTF-8 size, which is what the database and the Data API count. */
const boundedText = (maxBytes: number) =>
  z.string().check(z.refine((value) => Buffer.byteLength(value) <= maxBytes, `must be at most ${maxBytes} bytes of UTF-8`));

/**
 * The chunk's track (functions/core/chunk-track.ts): query parameters on the raw-body upload, JSON fields
 * on the direct-upload request. started_at is an ISO 8601 instant with a zone, or milliseconds since the session began.
 */
export const ChunkTrackFields = {
  sequence: z.optional(z.coerce.number().check(z.int(), z.minimum(0), z.maximum(MAX_SEQUENCE))),
  speaker: z.optional(z.string().check(z.regex(SPEAKER_PATTERN, 'speaker must be 1-64 letters, digits, "_", "." or "-"'))),
  started_at: z.optional(
    z.union([
      z.iso.datetime({ offset: true }),
      z.pipe(z.string().check(z.regex(/^\d{1,15}$/)), z.transform(Number)),
      z.number().check(z.int(), z.minimum(0)),
    ]),
  ),
};

export const MAX_SNAPSHOTS_PER_PAGE = 1000;
export const MAX_SEARCH_QUERY_LENGTH = 200;
export const MAX_SEARCH_RESULTS = 50;

/** NUL and unpaired surrogates: PostgreSQL refuses them in text, which would be a 500. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is the character PostgreSQL cannot take.
const UNSEARCHABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export const requestSchemas = {
  health: {},
  'health-deep': {},
  'get-openapi': {},
  'create-session': {
    body: z.strictObject({
      session_id: z.optional(SessionId),
      candidate: z.optional(z.nullable(z.string().check(z.maxLength(256)))),
      interviewer: z.optional(z.nullable(z.string().check(z.maxLength(256)))),
      metadata: z.optional(Metadata),
    }),
    status: 201,
  },
  'get-session': { params: SessionPath },
  /** 200: a retry of a stored sequence; 202: a recorder's first blob that holds only its track header. */
  'upload-audio-chunk': { params: SessionPath, query: z.strictObject(ChunkTrackFields), body: 'raw', status: 201, alsoAnswers: [200, 202] },
  'create-audio-upload': {
    params: SessionPath,
    body: z.strictObject({
      /** A media type the transcription path reads, e.g. audio/wav; others get a 415. */
      content_type: z.string().check(z.minLength(1), z.maxLength(255)),
      /** The exact size of the PUT to come; over the direct-upload limit gets a 413. */
      size_bytes: z.int().check(z.minimum(1), z.maximum(Number.MAX_SAFE_INTEGER)),
      /**
       * The SHA-256 of the bytes to come, 64 hex digits: the URL then takes only those bytes (the PUT sends
       * it base64 as x-amz-checksum-sha256), and a repeat of an uploaded sequence with it answers 200.
       */
      sha256: z.optional(z.string().check(z.regex(/^[0-9A-Fa-f]{64}$/, 'sha256 must be the SHA-256 of the audio as 64 hex digits'))),
      ...ChunkTrackFields,
    }),
    status: 201,
    /** 200: the sequence's chunk already holds these bytes (same sha256); no URL. */
    alsoAnswers: [200],
  },
  'record-code-history': {
    params: SessionPath,
    body: z.strictObject({
      code: boundedText(48 * 1024),
      language: z.string().check(z.minLength(1), z.maxLength(64)),
      metadata: z.optional(Metadata),
    }),
    status: 201,
  },
  'record-execution-result': {
    params: SessionPath,
    body: z.strictObject({
      code_history_id: z.optional(z.nullable(RowId)),
      stdout: z._default(boundedText(24 * 1024), ''),
      stderr: z._default(boundedText(24 * 1024), ''),
      exit_code: z.int().check(z.minimum(-2147483648), z.maximum(2147483647)),
      duration_ms: z.optional(z.nullable(z.number().check(z.nonnegative(), z.maximum(86_400_000)))),
      metadata: z.optional(Metadata),
    }),
    status: 201,
  },
  'get-latest-snapshot': {},
  'get-snapshot': { params: z.object({ snapshot_id: SnapshotId }) },
  'get-snapshot-part': {
    params: z.object({
      snapshot_id: SnapshotId,
      part: z.pipe(z.string().check(z.regex(/^(0|[1-9][0-9]{0,6})$/, 'part must be a part number from 0')), z.transform(Number)),
    }),
  },
  'list-snapshots': {
    query: z.strictObject({
      limit: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(MAX_SNAPSHOTS_PER_PAGE)), MAX_SNAPSHOTS_PER_PAGE),
      cursor: z.optional(SnapshotId),
    }),
  },
  'trigger-snapshot': {
    status: 201,
    retryLater: 'The first snapshot of a large database is being built over several scheduled runs; retry after Retry-After seconds',
  },
  /** 202: a chunk only batch transcription can take (MP4 on AWS, or too long to stream now) went to a new job. */
  'process-chunk': {
    alsoAnswers: [202],
    params: z.object({ chunk_id: ChunkId }),
    /** Without session_id the chunk's own row names the session. */
    query: z.object({ session_id: z.optional(SessionId) }),
  },
  'get-transcript': { params: z.object({ session_id: SessionId, chunk_id: ChunkId }) },
  'list-transcripts': { params: SessionPath },
  'get-session-transcript': {
    params: SessionPath,
    query: z.strictObject({
      format: z._default(z.enum(['json', 'txt', 'srt', 'vtt']), 'json'),
      /** Inclusive chunk id bounds: pages of a session whose whole transcript is over the response limit. */
      from_chunk: z.optional(ChunkId),
      to_chunk: z.optional(ChunkId),
    }),
  },
  'search-transcripts': {
    query: z.strictObject({
      q: z.string().check(
        z.minLength(1),
        z.maxLength(MAX_SEARCH_QUERY_LENGTH),
        z.refine((value) => !UNSEARCHABLE.test(value), 'q must be valid Unicode without the NUL character'),
      ),
      session_id: z.optional(SessionId),
      speaker: ChunkTrackFields.speaker,
      limit: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(MAX_SEARCH_RESULTS)), 20),
      cursor: z.optional(z.coerce.number().check(z.int(), z.minimum(0), z.maximum(10_000))),
    }),
  },
  'erase-session': { params: SessionPath },
  'place-session-hold': {
    params: SessionPath,
    body: z.strictObject({ reason: z.string().check(z.trim(), z.minLength(1), z.maxLength(1000)) }),
  },
  'release-session-hold': { params: SessionPath },
} as const satisfies Record<(typeof routes)[number]['handler'], RequestSchemas>;
