import type { AudioFormat } from './audio/probe';
import type { BatchTranscriber } from './ports/batch-transcriber';
import type { Clock } from './ports/clock';
import type { Logger } from './ports/logger';
import type { ObjectStore } from './ports/object-store';
import type { Sql } from './ports/sql';
import type { Transcriber } from './ports/transcriber';

/** Everything core functions need from the outside world, built once per process by functions/config.ts. */
export interface Dependencies {
  sql: Sql;
  store: ObjectStore;
  clock: Clock;
  logger: Logger;
  audio: AudioSettings;
  /** Speech recognition for audio chunks; a missing engine answers 503 without stopping the service. */
  transcriber: Transcriber;
  /** On AWS, Amazon Transcribe batch for chunks the streaming transcriber cannot take in one run; absent locally. */
  batchTranscriber?: BatchTranscriber;
  snapshots: SnapshotSettings;
  retention: RetentionSettings;
}

/** How long session data is kept (functions/core/retention.ts); an unset period keeps it until erased. */
export interface RetentionSettings {
  audioDays?: number;
  /** Transcripts, their details and their search index entries. */
  transcriptDays?: number;
  /** Sessions with all their rows and objects, counted from the session's creation. */
  sessionDays?: number;
  /**
   * `sweep`: the scheduled sweep deletes expired objects itself (locally); `bucket-lifecycle`: the bucket's
   * tag-filtered rules do, and holds re-tag the session's objects (on AWS).
   */
  objectsExpiredBy: 'sweep' | 'bucket-lifecycle';
}

export interface SnapshotSettings {
  /** Snapshots named more than this many days ago are removed. */
  retentionDays: number;
  /** `scheduler`: the scheduled run removes them after each snapshot; `bucket-lifecycle`: the S3 bucket's rule does. */
  retentionEnforcedBy: 'scheduler' | 'bucket-lifecycle';
}

export interface AudioSettings {
  /** Formats the transcription path can read; uploads of any other type get a 415. */
  acceptedFormats: readonly AudioFormat[];
  /** Largest accepted upload: API Gateway hands Lambda at most 6 MB, base64 grows it by a third. */
  maxBytes: number;
  /**
   * Longest accepted upload, in seconds (MAX_AUDIO_SECONDS): the inserted-chunk function streams audio at
   * about real time, so its timeout must exceed this. Unset: no limit beyond maxBytes.
   */
  maxSeconds?: number;
  /** Longest chunk POST /process_chunk transcribes within its route timeout (MAX_ON_DEMAND_AUDIO_SECONDS). Unset: no limit. */
  maxOnDemandSeconds?: number;
}
