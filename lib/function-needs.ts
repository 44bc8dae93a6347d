/**
 * What each function may touch: the bucket prefixes, Transcribe, and the Data API that every function
 * gets unless it says `database: false`. Keyed by
 * the handler names of functions/routes.ts; a handler missing here gets the database and nothing else,
 * so a new route starts with the least and asks for more here. Prefixes come from where core makes the keys.
 */
import { AUDIO_PREFIX, SNAPSHOTS_PREFIX, TRANSCRIBE_OUTPUT_PREFIX, TRANSCRIPTS_PREFIX } from '../functions/core/keys';
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
  /** Starts Amazon Transcribe batch jobs (which read and write the bucket as this role). */
  batchTranscribe?: boolean;
  /** The Data API on the cluster and read access to its secret; true unless set to false. */
  database?: boolean;
}

const snapshotReader: FunctionNeeds = { read: [SNAPSHOTS_PREFIX], list: [SNAPSHOTS_PREFIX] };
const snapshotWriter: FunctionNeeds = {
  read: [SNAPSHOTS_PREFIX],
  write: [SNAPSHOTS_PREFIX],
  list: [SNAPSHOTS_PREFIX],
  delete: [SNAPSHOTS_PREFIX],
};
const transcriber: FunctionNeeds = { read: [AUDIO_PREFIX], write: TRANSCRIPTION_WRITES, transcribe: true };
const transcriptReader: FunctionNeeds = { read: [TRANSCRIPTS_PREFIX], list: [TRANSCRIPTS_PREFIX] };

export const functionNeeds: Readonly<Record<string, FunctionNeeds>> = {
  // Liveness answers from the function alone; the deep check probes the database and the bucket.
  health: { database: false },
  'health-deep': { pingBucket: true },
  'upload-audio-chunk': { write: [AUDIO_PREFIX] },
  // Signs the PUT URL: S3 authorizes the upload as this role, so it needs the write it hands out.
  'create-audio-upload': { write: [AUDIO_PREFIX] },
  // A direct upload refused on arrival (not audio, too long) has its object removed. A chunk too long to
  // stream goes to a batch job, which reads audio/ and writes its output with this role's permissions.
  'transcribe-audio-chunk': {
    ...transcriber,
    write: [...TRANSCRIPTION_WRITES, TRANSCRIBE_OUTPUT_PREFIX],
    delete: [AUDIO_PREFIX],
    batchTranscribe: true,
  },
  'complete-batch-transcription': { read: [TRANSCRIBE_OUTPUT_PREFIX], write: TRANSCRIPTION_WRITES },
  'expire-audio-uploads': { read: [AUDIO_PREFIX] },
  'process-chunk': transcriber,
  'get-transcript': { read: [TRANSCRIPTS_PREFIX, TRANSCRIPT_DETAILS_PREFIX], list: [TRANSCRIPTS_PREFIX] },
  'list-transcripts': transcriptReader,
  'get-session-transcript': { read: [TRANSCRIPT_DETAILS_PREFIX] },
  'take-scheduled-snapshot': snapshotWriter,
  'trigger-snapshot': snapshotWriter,
  'get-latest-snapshot': snapshotReader,
  'get-snapshot': snapshotReader,
  'list-snapshots': snapshotReader,
};

export const needsOf = (handler: string): FunctionNeeds => functionNeeds[handler] ?? {};

/** Whether a function calls the Data API: every one unless its needs say `database: false`. */
export const usesDatabase = (needs: FunctionNeeds): boolean => needs.database !== false;

/** Whether a function touches the bucket at all. */
export const usesBucket = (needs: FunctionNeeds): boolean =>
  Boolean(needs.pingBucket || needs.read?.length || needs.write?.length || needs.list?.length || needs.delete?.length);
