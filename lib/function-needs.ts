/**
 * What each function may touch: the bucket prefixes, Transcribe, and the Data API that every function
 * gets unless it says `database: false`. Keyed by
 * the handler names of functions/routes.ts; a handler missing here gets the database and nothing else,
 * so a new route starts with the least and asks for more here. Prefixes come from where core makes the keys.
 */
import {
  AUDIO_PREFIX,
  SNAPSHOT_CHANGE_MARKER_KEY,
  SNAPSHOT_SEGMENTS_PREFIX,
  SNAPSHOTS_PREFIX,
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
  /** HeadBucket: the health probe. */
  pingBucket?: boolean;
  /** Amazon Transcribe streaming. */
  transcribe?: boolean;
  /** The Data API on the cluster and read access to its secret; true unless set to false. */
  database?: boolean;
}

const snapshotReader: FunctionNeeds = { read: [SNAPSHOTS_PREFIX, SNAPSHOT_SEGMENTS_PREFIX], list: [SNAPSHOTS_PREFIX] };
const snapshotWriter: FunctionNeeds = {
  read: [SNAPSHOTS_PREFIX, SNAPSHOT_SEGMENTS_PREFIX],
  write: [SNAPSHOTS_PREFIX, SNAPSHOT_SEGMENTS_PREFIX],
  list: [SNAPSHOTS_PREFIX, SNAPSHOT_SEGMENTS_PREFIX],
  delete: [SNAPSHOTS_PREFIX, SNAPSHOT_SEGMENTS_PREFIX],
};
/** Every function that writes a snapshot table rewrites the change marker after it commits (change-marker.ts). */
const marksChanges = [SNAPSHOT_CHANGE_MARKER_KEY];
const transcriber: FunctionNeeds = { read: [AUDIO_PREFIX], write: [...TRANSCRIPTION_WRITES, ...marksChanges], transcribe: true };
const transcriptReader: FunctionNeeds = { read: [TRANSCRIPTS_PREFIX], list: [TRANSCRIPTS_PREFIX] };

export const functionNeeds: Readonly<Record<string, FunctionNeeds>> = {
  // Liveness answers from the function alone; the deep check probes the database and the bucket.
  health: { database: false },
  'health-deep': { pingBucket: true },
  'create-session': { write: marksChanges },
  'upload-audio-chunk': { write: [AUDIO_PREFIX, ...marksChanges] },
  'record-code-history': { write: marksChanges },
  'record-execution-result': { write: marksChanges },
  'transcribe-audio-chunk': transcriber,
  'process-chunk': transcriber,
  'get-transcript': { read: [TRANSCRIPTS_PREFIX, TRANSCRIPT_DETAILS_PREFIX], list: [TRANSCRIPTS_PREFIX] },
  'list-transcripts': transcriptReader,
  'get-session-transcript': { read: [TRANSCRIPT_DETAILS_PREFIX] },
  'take-scheduled-snapshot': snapshotWriter,
  'trigger-snapshot': snapshotWriter,
  'get-latest-snapshot': snapshotReader,
  'get-snapshot': snapshotReader,
  'get-snapshot-part': snapshotReader,
  'list-snapshots': snapshotReader,
};

export const needsOf = (handler: string): FunctionNeeds => functionNeeds[handler] ?? {};

/** Whether a function calls the Data API: every one unless its needs say `database: false`. */
export const usesDatabase = (needs: FunctionNeeds): boolean => needs.database !== false;

/** Whether a function touches the bucket at all. */
export const usesBucket = (needs: FunctionNeeds): boolean =>
  Boolean(needs.pingBucket || needs.read?.length || needs.write?.length || needs.list?.length || needs.delete?.length);
