/**
 * Business metrics as CloudWatch EMF (Powertools Metrics, namespace InterviewOps): chunks received,
 * transcribed and failed, snapshots taken and failed with their rows, bytes and duration. Recorded by the
 * handlers' middleware (functions/http/api-handler.ts and the two event handlers), never by core.
 *
 * EMF is a JSON line on stdout that Lambda's log pipeline turns into metrics. Only a Lambda function
 * (AWS_LAMBDA_FUNCTION_NAME set) prints it; elsewhere (npm start, tests) what was recorded is dropped,
 * so local output is not flooded. lib/observability.ts alarms and charts these same names.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MiddlewareObj } from '@middy/core';
import type { SnapshotMetadata } from './core/snapshots/snapshot-document';
import type { InsertOutcome } from './core/transcripts/on-insert';
import { METRICS_NAMESPACE, METRICS_SERVICE, MetricNames } from './metric-names';

export { METRICS_NAMESPACE, METRICS_SERVICE, MetricNames };

export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: METRICS_SERVICE });

/** EMF is printed only inside a Lambda function. */
export const publishesMetrics = (env: NodeJS.ProcessEnv = process.env): boolean => Boolean(env.AWS_LAMBDA_FUNCTION_NAME);

/** Prints what this invocation recorded as one EMF line on Lambda; drops it anywhere else. */
export const flushMetrics = (): void => {
  if (!metrics.hasStoredMetrics()) return;
  if (publishesMetrics()) metrics.publishStoredMetrics();
  else metrics.clearMetrics();
};

/** middy: flushes after every invocation, answered or failed. */
export const emitMetrics = <E, R>(): MiddlewareObj<E, R> => ({
  after: () => flushMetrics(),
  onError: () => flushMetrics(),
});

export const recordChunkReceived = (chunk: { size_bytes?: unknown; duration?: unknown }): void => {
  metrics.addMetric(MetricNames.chunksReceived, MetricUnit.Count, 1);
  if (typeof chunk.size_bytes === 'number') metrics.addMetric(MetricNames.audioBytesReceived, MetricUnit.Bytes, chunk.size_bytes);
  if (typeof chunk.duration === 'number') metrics.addMetric(MetricNames.audioSecondsReceived, MetricUnit.Seconds, chunk.duration);
};

export const recordTranscriptions = (done: number, failed: number): void => {
  metrics.addMetric(MetricNames.chunksTranscribed, MetricUnit.Count, done);
  metrics.addMetric(MetricNames.chunksFailed, MetricUnit.Count, failed);
};

/** The inserted-chunk function's outcomes; lag is from S3's event time to the transcript written. */
export const recordInsertOutcomes = (outcomes: readonly InsertOutcome[], eventTimes: ReadonlyMap<string, number>, now: number): void => {
  recordTranscriptions(
    outcomes.filter((outcome) => outcome.outcome === 'done').length,
    outcomes.filter((outcome) => outcome.outcome === 'failed').length,
  );
  for (const outcome of outcomes) {
    const created = eventTimes.get(outcome.key);
    if (outcome.outcome === 'done' && created !== undefined) {
      metrics.addMetric(MetricNames.transcriptionLag, MetricUnit.Milliseconds, Math.max(0, now - created));
    }
  }
};

export const recordSnapshotTaken = (metadata: SnapshotMetadata | undefined, durationMs: number): void => {
  metrics.addMetric(MetricNames.snapshotsTaken, MetricUnit.Count, 1);
  metrics.addMetric(MetricNames.snapshotDuration, MetricUnit.Milliseconds, durationMs);
  if (metadata) {
    const rows = metadata.total_sessions + metadata.total_audio_chunks + metadata.total_code_entries + metadata.total_executions;
    metrics.addMetric(MetricNames.snapshotRows, MetricUnit.Count, rows);
    metrics.addMetric(MetricNames.snapshotBytes, MetricUnit.Bytes, metadata.snapshot_size_bytes);
  }
};

export const recordSnapshotFailed = (): void => {
  metrics.addMetric(MetricNames.snapshotsFailed, MetricUnit.Count, 1);
};

const metadataOf = (result: unknown): SnapshotMetadata | undefined => {
  const metadata = (result as { metadata?: SnapshotMetadata } | null)?.metadata;
  return metadata && typeof metadata.snapshot_size_bytes === 'number' ? metadata : undefined;
};

/**
 * What an API route's answer means for the metrics, by the handler module that served it (the routes
 * that receive audio, transcribe or snapshot on request); every other route records nothing.
 */
export const recordApiOutcome = (
  handler: string | undefined,
  outcome: { ok: true; result: unknown } | { ok: false; serverSide: boolean },
  durationMs: number,
): void => {
  switch (handler) {
    case 'upload-audio-chunk':
      if (outcome.ok) recordChunkReceived((outcome.result ?? {}) as { size_bytes?: unknown; duration?: unknown });
      return;
    case 'process-chunk':
      // A refusal (unknown chunk, too long) is the caller's; a failed transcription is the service's.
      if (outcome.ok) recordTranscriptions(1, 0);
      else if (outcome.serverSide) recordTranscriptions(0, 1);
      return;
    case 'trigger-snapshot':
      if (outcome.ok) recordSnapshotTaken(metadataOf(outcome.result), durationMs);
      else if (outcome.serverSide) recordSnapshotFailed();
      return;
    default:
      return;
  }
};
