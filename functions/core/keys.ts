/**
 * The object key layout shared by S3 and the local data directory (ARCHITECTURE.md "Keys").
 * Callers pass identifiers that were already validated; these functions only compose and parse.
 */
import { CHUNK_ID_PATTERN, SESSION_ID_PATTERN, SNAPSHOT_ID_PATTERN } from './identifiers';

export const AUDIO_PREFIX = 'audio/';
export const TRANSCRIPTS_PREFIX = 'transcripts/';
export const SNAPSHOTS_PREFIX = 'snapshots/';
/** JSON sidecars beside each transcript (functions/core/transcripts/transcript-objects.ts). */
export const TRANSCRIPT_DETAILS_PREFIX = 'transcript-details/';
/** Each recording track's header (WebM init segment, fragmented MP4 ftyp + moov): later timeslice blobs decode behind it. */
export const AUDIO_TRACK_HEADERS_PREFIX = 'audio-track-headers/';
/** Amazon Transcribe batch jobs write their output here; the completion reads it into the transcript files. */
export const TRANSCRIBE_OUTPUT_PREFIX = 'transcribe-output/';
/** Immutable pieces of snapshot state that the manifests under SNAPSHOTS_PREFIX name (docs/snapshots.md). */
export const SNAPSHOT_SEGMENTS_PREFIX = 'snapshot-segments/';
/** Rewritten after each committed write to a snapshot table, so a scheduled run can tell a quiet minute without the database. */
export const SNAPSHOT_CHANGE_MARKER_KEY = `${SNAPSHOT_SEGMENTS_PREFIX}change-marker`;
/**
 * A first snapshot being built over several scheduled runs (first-snapshot-build.ts). Under the pieces'
 * prefix: the writers' grants cover it, and the bucket's rule expires it with the pieces it names.
 */
export const SNAPSHOT_BUILD_KEY = `${SNAPSHOT_SEGMENTS_PREFIX}first-snapshot-build.json`;

/** Amazon Transcribe batch job names start so (the account's job names share one space); the completion rule matches on it. */
export const BATCH_JOB_PREFIX = 'interview-ops-chunk-';

/** One output per job: a retried chunk's new job never reads an older job's output. */
export const transcribeOutputKeyFor = (sessionId: string, jobName: string): string =>
  `${TRANSCRIBE_OUTPUT_PREFIX}${sessionId}/${jobName}.json`;

/** Which retention setting ages an object kind out (functions/core/retention.ts). */
export type RetentionClass = 'audio' | 'transcripts';

/**
 * Every kind of object kept per session, each under `{prefix}{session_id}/`: what erasure deletes, what
 * a legal hold re-tags and what retention expires. A new per-session prefix is registered here, and
 * erasure, holds, lifecycle rules and IAM grants cover it with no other change.
 */
export const SESSION_OBJECT_KINDS = {
  audio: { prefix: AUDIO_PREFIX, retention: 'audio' },
  transcripts: { prefix: TRANSCRIPTS_PREFIX, retention: 'transcripts' },
  transcript_details: { prefix: TRANSCRIPT_DETAILS_PREFIX, retention: 'transcripts' },
  audio_track_headers: { prefix: AUDIO_TRACK_HEADERS_PREFIX, retention: 'audio' },
  transcribe_output: { prefix: TRANSCRIBE_OUTPUT_PREFIX, retention: 'transcripts' },
} as const satisfies Record<string, { prefix: string; retention: RetentionClass }>;

export type SessionObjectKind = keyof typeof SESSION_OBJECT_KINDS;

export const sessionObjectKinds = Object.keys(SESSION_OBJECT_KINDS) as SessionObjectKind[];

/** The top-level prefixes of all per-session kinds: erasure's, holds' and the sweep's IAM grants. */
export const SESSION_OBJECT_PREFIXES: readonly string[] = Object.values(SESSION_OBJECT_KINDS).map((kind) => kind.prefix);

/** Where one session's objects of a kind live: the prefix, then the session id as its own path segment. */
export const sessionObjectPrefixFor = (kind: SessionObjectKind, sessionId: string): string =>
  `${SESSION_OBJECT_KINDS[kind].prefix}${sessionId}/`;

/** The session a per-session key belongs to; null for a key outside the kind's prefix. */
export const sessionIdOfKey = (kind: SessionObjectKind, key: string): string | null => {
  const { prefix } = SESSION_OBJECT_KINDS[kind];
  if (!key.startsWith(prefix)) return null;
  const sessionId = key.slice(prefix.length).split('/', 1)[0]!;
  return key.length > prefix.length + sessionId.length && SESSION_ID_PATTERN.test(sessionId) ? sessionId : null;
};

export type AudioExtension = 'wav' | 'flac' | 'ogg' | 'webm' | 'mp4';

export const audioKeyFor = (sessionId: string, chunkId: string, extension: AudioExtension): string =>
  `${AUDIO_PREFIX}${sessionId}/${chunkId}.${extension}`;

const AUDIO_KEY = /^audio\/([^/]+)\/([0-9]+)\.(wav|flac|ogg|webm|mp4)$/;

/** Reads session and chunk ids back out of an audio key, e.g. from an S3 ObjectCreated event; null if it is not one. */
export const parseAudioKey = (key: string): { sessionId: string; chunkId: string; extension: AudioExtension } | null => {
  const match = AUDIO_KEY.exec(key);
  if (!match) return null;
  const [, sessionId, chunkId, extension] = match as unknown as [string, string, string, AudioExtension];
  if (!SESSION_ID_PATTERN.test(sessionId) || !CHUNK_ID_PATTERN.test(chunkId)) return null;
  return { sessionId, chunkId, extension };
};

/** One header per session, speaker track and format; `_` (never a speaker label) names the track without one. */
export const trackHeaderKeyFor = (sessionId: string, speaker: string | null, extension: AudioExtension): string =>
  `${AUDIO_TRACK_HEADERS_PREFIX}${sessionId}/${speaker ?? '_'}.${extension}`;

export const transcriptFilenameFor = (sessionId: string, chunkId: string): string => `${sessionId}_${chunkId}.txt`;

export const transcriptPrefixFor = (sessionId: string): string => `${TRANSCRIPTS_PREFIX}${sessionId}/`;

export const transcriptKeyFor = (sessionId: string, chunkId: string): string =>
  `${transcriptPrefixFor(sessionId)}${transcriptFilenameFor(sessionId, chunkId)}`;

const pad = (value: number, width = 2) => String(value).padStart(width, '0');

/** `YYYYMMDD_HHMMSS` in UTC. */
const compactUtc = (date: Date): string =>
  `${date.getUTCFullYear()}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}_` +
  `${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}`;

export const snapshotIdFor = (instant: Date): string => `snapshot_${Math.floor(instant.getTime() / 1000)}`;

export const snapshotInstantOf = (snapshotId: string): Date => {
  if (!SNAPSHOT_ID_PATTERN.test(snapshotId)) throw new RangeError('not a snapshot id');
  return new Date(Number(snapshotId.slice('snapshot_'.length)) * 1000);
};

export const snapshotKeyFor = (snapshotId: string): string =>
  `${SNAPSHOTS_PREFIX}snapshot_${compactUtc(snapshotInstantOf(snapshotId))}.json`;

/** All snapshots of one UTC day share this prefix, so the newest can be found by walking days backwards. */
export const snapshotDayPrefixFor = (instant: Date): string => `${SNAPSHOTS_PREFIX}snapshot_${compactUtc(instant).slice(0, 8)}`;

const SNAPSHOT_KEY = /^snapshots\/snapshot_(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})\.json$/;

export const snapshotIdFromKey = (key: string): string | null => {
  const match = SNAPSHOT_KEY.exec(key);
  if (!match) return null;
  const [, y, mo, d, h, mi, s] = match.map(Number) as [number, number, number, number, number, number, number];
  const instant = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  // Reject keys like 20240231 that Date would silently roll over (and years before 1970, which have no id).
  const exact =
    instant.getUTCFullYear() === y &&
    instant.getUTCMonth() === mo - 1 &&
    instant.getUTCDate() === d &&
    instant.getUTCHours() === h &&
    instant.getUTCMinutes() === mi &&
    instant.getUTCSeconds() === s;
  if (!exact) return null;
  const id = snapshotIdFor(instant);
  return SNAPSHOT_ID_PATTERN.test(id) ? id : null;
};

/** All segment pieces written on one UTC day share this prefix, so the sweeper removes them by day. */
export const snapshotSegmentDayPrefixFor = (instant: Date): string => `${SNAPSHOT_SEGMENTS_PREFIX}${compactUtc(instant).slice(0, 8)}/`;

/**
 * One piece of one segment, named by when it was written (so its age is known from its key) and a nonce;
 * gzipped JSON (`.json.gz`). Pieces written before compression (issue 16) end in `.json`.
 */
export const snapshotSegmentKeyFor = (writtenAt: Date, section: string, segment: number, piece: number, nonce: string): string =>
  `${snapshotSegmentDayPrefixFor(writtenAt)}${compactUtc(writtenAt).slice(9)}_${section}_${segment}_${piece}_${nonce}.json.gz`;

const SEGMENT_KEY = /^snapshot-segments\/(\d{4})(\d{2})(\d{2})\/(\d{2})(\d{2})(\d{2})_[a-z_]+_-?\d+_\d+_[a-z0-9]+\.json(\.gz)?$/;

/** The table, segment and piece number a piece's key names; null for any other key. */
export const snapshotSegmentKeyParts = (key: string): { section: string; segment: number; piece: number } | null => {
  if (!SEGMENT_KEY.test(key)) return null;
  const [, section, segment, piece] = /\/\d{6}_([a-z_]+)_(-?\d+)_(\d+)_[a-z0-9]+\.json(?:\.gz)?$/.exec(key)!;
  return { section: section!, segment: Number(segment), piece: Number(piece) };
};

/** When a segment piece was written, read off its key; null for any other key. */
export const snapshotSegmentWrittenAt = (key: string): Date | null => {
  const match = SEGMENT_KEY.exec(key);
  if (!match) return null;
  const [, y, mo, d, h, mi, s] = match.map(Number) as [number, number, number, number, number, number, number];
  return new Date(Date.UTC(y, mo - 1, d, h, mi, s));
};
