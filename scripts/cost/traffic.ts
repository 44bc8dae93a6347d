/**
 * The traffic `npm run cost` prices: idle, and a platform running interviews. Every number here is an
 * assumption, stated so it can be argued with; change one and the estimate follows.
 */

/** What one one-hour interview sends and costs, beyond what the template fixes. */
export interface InterviewAssumptions {
  /** Audio chunks uploaded (POST .../audio_chunks), one per 30 s of speech. */
  audioChunks: number;
  /** Bytes of one chunk: 30 s of 16 kHz mono 16-bit WAV. */
  chunkBytes: number;
  /** Minutes of Amazon Transcribe Streaming: the whole hour, once. */
  transcriptionMinutes: number;
  /** Code saves (POST .../code_history), one per 30 s. */
  codeSaves: number;
  /** Sandbox runs recorded (POST .../execution_results). */
  executions: number;
  /** Snapshots asked for (POST /sandbox_snapshot/trigger). */
  snapshotRequests: number;
  /** Reads: the session, transcripts, snapshots, search, exports. */
  reads: number;
  /** Rows an interview leaves: its session, chunks, code saves and runs. */
  rows: number;
}

export const ONE_HOUR_INTERVIEW: InterviewAssumptions = {
  audioChunks: 120,
  chunkBytes: 960_000,
  transcriptionMinutes: 60,
  codeSaves: 120,
  executions: 30,
  snapshotRequests: 2,
  reads: 40,
  rows: 1 + 120 + 120 + 30,
};

export interface Traffic {
  name: string;
  interviewsPerDay: number;
  interview: InterviewAssumptions;
  /**
   * Hours a day the cluster is awake: interviews spread over a working window, plus the pause delay.
   * Outside it the cluster is paused (at 0 ACU minimum capacity).
   */
  activeHoursPerDay: number;
  /** Average Aurora capacity while awake, in ACU. */
  averageAcuWhileActive: number;
  /**
   * Whether a scheduled snapshot with nothing changed still queries the database. False assumes issue
   * #19's incremental snapshots ("a minute in which nothing changed does not touch the database"),
   * built alongside; true is the code before them, which keeps the cluster from ever pausing.
   */
  idleSnapshotsTouchDatabase: boolean;
}

export const IDLE: Traffic = {
  name: 'idle',
  interviewsPerDay: 0,
  interview: ONE_HOUR_INTERVIEW,
  activeHoursPerDay: 0,
  averageAcuWhileActive: 0,
  idleSnapshotsTouchDatabase: false,
};

/** 100 one-hour interviews a day, every day, spread over a 10-hour window. */
export const HUNDRED_INTERVIEWS_A_DAY: Traffic = {
  name: '100 one-hour interviews a day',
  interviewsPerDay: 100,
  interview: ONE_HOUR_INTERVIEW,
  activeHoursPerDay: 10 + 5 / 60,
  averageAcuWhileActive: 1,
  idleSnapshotsTouchDatabase: false,
};

/** Per invocation: how long it runs and what it calls. Durations are for a warm function. */
export const INVOCATION = {
  /** A plain API call: a statement or two. */
  plainCall: { seconds: 0.15, dataApiCalls: 2, s3Puts: 0, s3Gets: 0 },
  /** An audio upload: the row, the object, and a head of what S3 recorded. */
  upload: { seconds: 0.4, dataApiCalls: 3, s3Puts: 1, s3Gets: 1 },
  /** Transcribing one inserted chunk: Transcribe streams at real time, so the function waits the audio's length. */
  transcription: { extraSeconds: 3, dataApiCalls: 4, s3Puts: 2, s3Gets: 3 },
  /** A scheduled run with nothing changed. */
  // A quiet minute still stores its manifest: the marker and the last manifest read, one manifest written
  // (bench snapshot-growth counts 6 store requests at every size).
  idleSnapshot: { seconds: 0.3, s3Gets: 5, s3Puts: 1 },
  /** A snapshot reads the whole database in pages of this many rows, and writes JSON at this rate. */
  snapshot: { baseSeconds: 1, rowsPerPage: 1000, bytesPerRow: 300, bytesPerSecond: 20_000_000 },
  /** CloudWatch Logs written per invocation (the request line, the report line, a log or two). */
  logBytes: 2048,
  /** Aurora I/O requests per Data API call that misses the buffer cache. */
  ioPerDataApiCall: 2,
};

/** Custom metrics (EMF names, each with its one `service` dimension) published in a month with traffic, and idle. */
export const CUSTOM_METRICS = { withTraffic: 11, idle: 4 };
