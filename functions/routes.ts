/**
 * The one route table. The local gateway dispatches from it and the CDK stack builds one API Gateway
 * route and one Lambda function per entry from it, so the two cannot drift.
 * `handler` names the module functions/handlers/<handler>.ts, which exports `handler`.
 */
import { AUDIO_PREFIX, BATCH_JOB_PREFIX } from './core/keys';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RouteDefinition {
  method: HttpMethod;
  /** API Gateway path template: `{name}` is one path segment. */
  path: string;
  handler: string;
  /** Routes that answer without authorization; every other route requires it on AWS. */
  public?: boolean;
  /** One line for humans: the README and the OpenAPI document. */
  summary: string;
  /** How long its function may run, on Lambda and in the local stack alike: ROUTE_TIMEOUT_SECONDS unless given. */
  timeoutSeconds?: number;
}

/**
 * A plain API call's limit: room for Aurora to resume from a pause (about 15 s, during which the Data API
 * adapter waits and retries) and then do the call, within API Gateway's 30 s (docs/deploy.md).
 */
export const ROUTE_TIMEOUT_SECONDS = 25;
/** Transcribing or snapshotting on request can outlast a plain call, and must still answer within API Gateway's 30 s. */
const LONG_ROUTE_TIMEOUT_SECONDS = 29;

export const timeoutSecondsOf = (route: RouteDefinition): number => route.timeoutSeconds ?? ROUTE_TIMEOUT_SECONDS;

export const routes = [
  {
    method: 'GET',
    path: '/health',
    handler: 'health',
    public: true,
    summary: 'Liveness: answers from the function alone, touching no dependency',
  },
  { method: 'GET', path: '/health/deep', handler: 'health-deep', summary: 'Check the database and the object store' },
  { method: 'GET', path: '/openapi.json', handler: 'get-openapi', public: true, summary: 'This API as an OpenAPI 3.1 document' },
  { method: 'POST', path: '/sessions', handler: 'create-session', summary: 'Create an interview session' },
  { method: 'GET', path: '/sessions/{session_id}', handler: 'get-session', summary: 'Get a session' },
  {
    method: 'POST',
    path: '/sessions/{session_id}/audio_chunks',
    handler: 'upload-audio-chunk',
    summary: 'Upload one audio chunk (raw body); its transcript follows automatically',
  },
  {
    method: 'POST',
    path: '/sessions/{session_id}/audio_chunks/uploads',
    handler: 'create-audio-upload',
    summary: 'Get a URL to PUT a big audio chunk (up to 500 MB) to directly; its arrival makes the chunk and its transcript',
  },
  { method: 'POST', path: '/sessions/{session_id}/code_history', handler: 'record-code-history', summary: "Record the candidate's code" },
  {
    method: 'POST',
    path: '/sessions/{session_id}/execution_results',
    handler: 'record-execution-result',
    summary: 'Record the result of running code in the sandbox',
  },
  { method: 'GET', path: '/sandbox_snapshot', handler: 'get-latest-snapshot', summary: 'Get the most recent sandbox snapshot' },
  { method: 'GET', path: '/sandbox_snapshot/{snapshot_id}', handler: 'get-snapshot', summary: 'Get a sandbox snapshot by id' },
  {
    method: 'GET',
    path: '/sandbox_snapshot/{snapshot_id}/parts/{part}',
    handler: 'get-snapshot-part',
    summary: 'Get one part of a sandbox snapshot too big to return whole (rows, or a presigned url when they exceed a response)',
  },
  {
    method: 'GET',
    path: '/sandbox_snapshots',
    handler: 'list-snapshots',
    summary: 'List sandbox snapshots, newest first (optional limit and cursor)',
  },
  {
    method: 'POST',
    path: '/sandbox_snapshot/trigger',
    handler: 'trigger-snapshot',
    summary: 'Take a sandbox snapshot now',
    timeoutSeconds: LONG_ROUTE_TIMEOUT_SECONDS,
  },
  {
    method: 'POST',
    path: '/process_chunk/{chunk_id}',
    handler: 'process-chunk',
    summary: "Transcribe an audio chunk now (optional ?session_id= must be the chunk's session)",
    timeoutSeconds: LONG_ROUTE_TIMEOUT_SECONDS,
  },
  {
    method: 'GET',
    path: '/transcript/{session_id}/{chunk_id}',
    handler: 'get-transcript',
    summary: "Get a chunk's transcript file information",
  },
  { method: 'GET', path: '/transcripts/{session_id}', handler: 'list-transcripts', summary: "List a session's transcript files" },
  {
    method: 'GET',
    path: '/sessions/{session_id}/transcript',
    handler: 'get-session-transcript',
    summary: "A session's whole transcript on one timeline: ?format=json|txt|srt|vtt, optional from_chunk and to_chunk",
  },
  {
    method: 'GET',
    path: '/search/transcripts',
    handler: 'search-transcripts',
    summary: 'Full-text search of transcripts: ?q= (1-200 chars), optional session_id, speaker, limit (1-50) and cursor',
  },
  {
    method: 'DELETE',
    path: '/sessions/{session_id}',
    handler: 'erase-session',
    summary: 'Erase a session everywhere (rows, audio, transcripts, details, search index); 409 while on legal hold',
    timeoutSeconds: LONG_ROUTE_TIMEOUT_SECONDS,
  },
  {
    method: 'PUT',
    path: '/sessions/{session_id}/hold',
    handler: 'place-session-hold',
    summary: 'Place a legal hold {reason}: the session is kept past retention and cannot be erased',
    timeoutSeconds: LONG_ROUTE_TIMEOUT_SECONDS,
  },
  {
    method: 'DELETE',
    path: '/sessions/{session_id}/hold',
    handler: 'release-session-hold',
    summary: "Release the session's legal hold (repeating it is harmless)",
    timeoutSeconds: LONG_ROUTE_TIMEOUT_SECONDS,
  },
] as const satisfies readonly RouteDefinition[];

export const routeId = (route: Pick<RouteDefinition, 'method' | 'path'>): string => `${route.method} ${route.path}`;

/**
 * Functions that events invoke rather than HTTP. On AWS the stack wires each trigger (an S3
 * ObjectCreated notification, an EventBridge schedule); locally functions/local plays those parts.
 */
export type EventTrigger =
  | { kind: 'object-created'; prefix: string }
  /** Every SNAPSHOT_INTERVAL_SECONDS locally; EventBridge rate(1 minute) on AWS. */
  | { kind: 'schedule' }
  /** Every RETENTION_SWEEP_INTERVAL_SECONDS locally; EventBridge context retentionSweepSchedule (daily) on AWS. */
  | { kind: 'retention-schedule' }

  /** Housekeeping every `minutes`, locally and on AWS (EventBridge rate). */
  | { kind: 'rate'; minutes: number }
  /** AWS only: EventBridge's "Transcribe Job State Change" for jobs named with the prefix (no batch jobs locally). */
  | { kind: 'transcribe-job-ended'; jobNamePrefix: string };

export interface EventFunctionDefinition {
  handler: string;
  trigger: EventTrigger;
  summary: string;
  timeoutSeconds: number;
}

export const eventFunctions: readonly EventFunctionDefinition[] = [
  {
    handler: 'transcribe-audio-chunk',
    trigger: { kind: 'object-created', prefix: AUDIO_PREFIX },
    summary: 'Transcribe each inserted audio chunk into transcripts/{session_id}/{session_id}_{chunk_id}.txt',
    // Transcribe streams at about real time: the longest accepted chunk (MAX_AUDIO_SECONDS, 600) plus a margin.
    timeoutSeconds: 720,
  },
  {
    handler: 'complete-batch-transcription',
    trigger: { kind: 'transcribe-job-ended', jobNamePrefix: BATCH_JOB_PREFIX },
    summary: "Write a batch-transcribed chunk's transcript files from its Amazon Transcribe job's output, or record its failure",
    // Reads the job's output (a few MB for hours of speech) and writes two objects.
    timeoutSeconds: 120,
  },
  {
    handler: 'expire-audio-uploads',
    trigger: { kind: 'rate', minutes: 15 },
    summary: 'Remove direct-upload reservations whose URL expired and whose audio never arrived',
    timeoutSeconds: 60,
  },
  {
    handler: 'take-scheduled-snapshot',
    trigger: { kind: 'schedule' },
    summary: 'Snapshot the sandbox tables every minute, then apply retention where the bucket does not',
    // A run ends within its minute, before the next one starts.
    timeoutSeconds: 55,
  },
  {
    handler: 'sweep-retention',
    trigger: { kind: 'retention-schedule' },
    summary: 'Erase sessions, transcripts and objects past their retention, skipping held sessions',
    // Lambda's longest: whatever is left over is the next run's work.
    timeoutSeconds: 900,
  },
];
