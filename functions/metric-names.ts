/**
 * The names of the business metrics (CloudWatch EMF, see functions/observability.ts), shared with the
 * stack's alarms and dashboard (lib/observability.ts). No AWS code here: lib/ imports it at synth.
 */
export const METRICS_NAMESPACE = 'InterviewOps';
/** Powertools adds the service as the one dimension of every metric: {service: METRICS_SERVICE}. */
export const METRICS_SERVICE = 'interview-ops';

export const MetricNames = {
  chunksReceived: 'ChunksReceived',
  audioBytesReceived: 'AudioBytesReceived',
  audioSecondsReceived: 'AudioSecondsReceived',
  chunksTranscribed: 'ChunksTranscribed',
  chunksFailed: 'ChunksFailed',
  transcriptionLag: 'TranscriptionLag',
  snapshotsTaken: 'SnapshotsTaken',
  snapshotsFailed: 'SnapshotsFailed',
  snapshotRows: 'SnapshotRows',
  snapshotBytes: 'SnapshotBytes',
  snapshotDuration: 'SnapshotDuration',
} as const;
