/**
 * What each function may touch: the bucket prefixes, Transcribe, and which database login it speaks SQL
 * as through the Data API (`app` unless it says otherwise). Keyed by the handler names of
 * functions/routes.ts; a handler missing here gets the app login and nothing else, so a new route starts
 * with no bucket and no master secret, and asks for more here. Prefixes come from where core makes the keys.
 */
import {
  AUDIO_PREFIX,
  AUDIO_TRACK_HEADERS_PREFIX,
  SESSION_OBJECT_PREFIXES,
  SNAPSHOT_CHANGE_MARKER_KEY,
  SNAPSHOT_SEGMENTS_PREFIX,
  SNAPSHOTS_PREFIX,
  TRANSCRIBE_OUTPUT_PREFIX,
  TRANSCRIPTS_PREFIX,
} from '../functions/core/keys';
import { TRANSCRIPT_DETAILS_PREFIX, TRANSCRIPTION_WRITES } from '../functions/core/transcripts/transcript-objects';

export interface FunctionNeeds {
  /** Key prefixes it reads (s3:GetObject, which also covers HeadObject). */
  read?: readonly string[];
  /** Key prefixes it writes (PutObject, multipart included). */
  write?: readonly string[];
  /**
   * Key prefixes it lists. s3:ListBucket is a bucket-level grant: any reader or lister gets it (see
   * service-function.ts for why it carries no prefix condition); this field records the intent.
   */
  list?: readonly string[];
  /** Key prefixes it deletes from. */
  delete?: readonly string[];
  /**
   * Key prefixes whose objects it re-tags (s3:PutObjectTagging). Writers get it on their write prefixes
   * where core tags new objects (functions/core/lifecycle/retention-tags.ts), since S3 authorizes a PUT
   * that carries tags by it as well.
   */
  tag?: readonly string[];
  /** HeadBucket: the health probe. */
  pingBucket?: boolean;
  /** Amazon Transcribe streaming. */
  transcribe?: boolean;
  /** Starts Amazon Transcribe batch jobs (which read and write the bucket as this role). */
  batchTranscribe?: boolean;
  /** The Data API on the cluster and read access to the secret of this login; 'app' unless set, false for none. */
  database?: DatabaseLogin | false;
}

/**
 * The PostgreSQL logins, each with its own secret (lib/database.ts): `reader` may only SELECT, `app` runs
 * the DML the functions run, `owner` is the cluster's master user, which only the migrator may use.
 */
export type DatabaseLogin = 'reader' | 'app' | 'owner';

// get-snapshot-part presigns GETs of pieces too big for a response: S3 authorizes them by this read.
const snapshotReader: FunctionNeeds = {
  read: [SNAPSHOTS_PREFIX, SNAPSHOT_SEGMENTS_PREFIX],
  list: [SNAPSHOTS_PREFIX],
  database: 'reader',
};
// Taking a snapshot prunes the change log it read (migration 011): the app login. No delete: pieces and
// manifests are only ever created, and on AWS the bucket's lifecycle rule expires them
// (SNAPSHOT_RETENTION_BY=bucket-lifecycle); only the local scheduler's cleanup deletes, with no IAM.
const snapshotWriter: FunctionNeeds = {
  read: [SNAPSHOTS_PREFIX, SNAPSHOT_SEGMENTS_PREFIX],
  write: [SNAPSHOTS_PREFIX, SNAPSHOT_SEGMENTS_PREFIX],
  list: [SNAPSHOTS_PREFIX],
};
/** Every function that writes a snapshot table rewrites the change marker after it commits (change-marker.ts). */
const marksChanges = [SNAPSHOT_CHANGE_MARKER_KEY];
const transcriber: FunctionNeeds = { read: [AUDIO_PREFIX], write: [...TRANSCRIPTION_WRITES, ...marksChanges], transcribe: true };
const transcriptReader: FunctionNeeds = { read: [TRANSCRIPTS_PREFIX], list: [TRANSCRIPTS_PREFIX], database: 'reader' };

export const functionNeeds: Readonly<Record<string, FunctionNeeds>> = {
  // Liveness answers from the function alone; the deep check probes the database and the bucket.
  health: { database: false },
  'get-openapi': { database: false },
  'health-deep': { pingBucket: true, database: 'reader' },
  'get-session': { database: 'reader' },
  'search-transcripts': { database: 'reader' },
  'create-session': { write: marksChanges },
  'record-code-history': { write: marksChanges },
  'record-execution-result': { write: marksChanges },
  // A recorder's first blob leaves its track header; later blobs read it.
  'upload-audio-chunk': { read: [AUDIO_TRACK_HEADERS_PREFIX], write: [AUDIO_PREFIX, AUDIO_TRACK_HEADERS_PREFIX, ...marksChanges] },
  // Signs the PUT URL: S3 authorizes the upload as this role, so it needs the write it hands out.
  'create-audio-upload': { write: [AUDIO_PREFIX] },
  // A direct upload refused on arrival (not audio, too long), a copy of a chunk already stored, and an object
  // no reservation or chunk awaits (swept, session erased) have their object removed. A chunk too long to
  // stream goes to a batch job, which reads audio/ and writes its output with this role's permissions.
  'transcribe-audio-chunk': {
    ...transcriber,
    write: [...transcriber.write!, TRANSCRIBE_OUTPUT_PREFIX],
    delete: [AUDIO_PREFIX],
    batchTranscribe: true,
  },
  'complete-batch-transcription': { read: [TRANSCRIBE_OUTPUT_PREFIX], write: [...TRANSCRIPTION_WRITES, ...marksChanges] },
  'expire-audio-uploads': { read: [AUDIO_PREFIX] },
  // A chunk only batch takes (MP4, or too long to stream within the route) goes to a new job, as above.
  'process-chunk': { ...transcriber, write: [...transcriber.write!, TRANSCRIBE_OUTPUT_PREFIX], batchTranscribe: true },
  'get-transcript': { read: [TRANSCRIPTS_PREFIX, TRANSCRIPT_DETAILS_PREFIX], list: [TRANSCRIPTS_PREFIX], database: 'reader' },
  'list-transcripts': transcriptReader,
  'get-session-transcript': { read: [TRANSCRIPT_DETAILS_PREFIX], database: 'reader' },
  // Applies the migrations and provisions the other two logins (functions/handlers/migrate-database.ts), then
  // fills the search text of chunks transcribed before migration 006 from their objects.
  'migrate-database': { database: 'owner', read: [TRANSCRIPTS_PREFIX], write: marksChanges },
  'take-scheduled-snapshot': snapshotWriter,
  'trigger-snapshot': snapshotWriter,
  'get-latest-snapshot': snapshotReader,
  'get-snapshot': snapshotReader,
  'get-snapshot-part': snapshotReader,
  'list-snapshots': snapshotReader,
  // Erasure and holds touch every per-session kind that keys.ts registers, and nothing else.
  'erase-session': { list: SESSION_OBJECT_PREFIXES, delete: SESSION_OBJECT_PREFIXES, write: marksChanges },
  'place-session-hold': { list: SESSION_OBJECT_PREFIXES, tag: SESSION_OBJECT_PREFIXES },
  'release-session-hold': { list: SESSION_OBJECT_PREFIXES, tag: SESSION_OBJECT_PREFIXES },
  'sweep-retention': { list: SESSION_OBJECT_PREFIXES, delete: SESSION_OBJECT_PREFIXES, tag: SESSION_OBJECT_PREFIXES, write: marksChanges },
};

export const needsOf = (handler: string): FunctionNeeds => functionNeeds[handler] ?? {};

/** The login a function speaks SQL as, or undefined when it calls no Data API at all. */
export const databaseLoginOf = (needs: FunctionNeeds): DatabaseLogin | undefined =>
  needs.database === false ? undefined : (needs.database ?? 'app');

/** Whether a function calls the Data API: every one unless its needs say `database: false`. */
export const usesDatabase = (needs: FunctionNeeds): boolean => databaseLoginOf(needs) !== undefined;

/** Whether a function touches the bucket at all. */
export const usesBucket = (needs: FunctionNeeds): boolean =>
  Boolean(needs.pingBucket || needs.read?.length || needs.write?.length || needs.list?.length || needs.delete?.length || needs.tag?.length);
