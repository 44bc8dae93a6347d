/**
 * functions/observability.ts: EMF lines in the InterviewOps namespace on Lambda, nothing printed anywhere
 * else, and the API and event outcomes turned into the metric names lib/observability.ts alarms on.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useDependencies } from '../functions/config';
import type { Dependencies } from '../functions/core/dependencies';
import { apiHandler } from '../functions/http/api-handler';
import {
  flushMetrics,
  METRICS_NAMESPACE,
  MetricNames,
  metrics,
  publishesMetrics,
  recordApiOutcome,
  recordInsertOutcomes,
} from '../functions/observability';

const METADATA = { total_sessions: 2, total_audio_chunks: 3, total_code_entries: 4, total_executions: 5, snapshot_size_bytes: 1234 };

/** Runs `record` then flushes, with AWS_LAMBDA_FUNCTION_NAME as given; returns the EMF documents printed. */
const emitted = (functionName: string | undefined, record: () => void): Record<string, any>[] => {
  const lines: string[] = [];
  const log = vi.spyOn((metrics as unknown as { console: Console }).console, 'log').mockImplementation((line: unknown) => {
    lines.push(String(line));
  });
  const previous = process.env.AWS_LAMBDA_FUNCTION_NAME;
  if (functionName === undefined) delete process.env.AWS_LAMBDA_FUNCTION_NAME;
  else process.env.AWS_LAMBDA_FUNCTION_NAME = functionName;
  try {
    record();
    flushMetrics();
  } finally {
    if (previous === undefined) delete process.env.AWS_LAMBDA_FUNCTION_NAME;
    else process.env.AWS_LAMBDA_FUNCTION_NAME = previous;
    log.mockRestore();
  }
  return lines.map((line) => JSON.parse(line));
};

const metricNamesOf = (document: Record<string, any>): string[] =>
  document._aws.CloudWatchMetrics[0].Metrics.map((metric: { Name: string }) => metric.Name).sort();

beforeEach(() => metrics.clearMetrics());
afterEach(() => metrics.clearMetrics());

describe('publishing', () => {
  it('prints one EMF line in the InterviewOps namespace inside a Lambda function', () => {
    expect(publishesMetrics({ AWS_LAMBDA_FUNCTION_NAME: 'fn' })).toBe(true);
    const [document, ...rest] = emitted('InterviewOps-TriggerSnapshot', () =>
      recordApiOutcome('trigger-snapshot', { ok: true, result: { snapshot_id: 'snapshot_1700000000', metadata: METADATA } }, 250),
    );
    expect(rest).toEqual([]);
    expect(document!._aws.CloudWatchMetrics[0].Namespace).toBe(METRICS_NAMESPACE);
    expect(document!._aws.CloudWatchMetrics[0].Dimensions).toEqual([['service']]);
    expect(document!.service).toBe('interview-ops');
    expect(metricNamesOf(document!)).toEqual(
      [MetricNames.snapshotsTaken, MetricNames.snapshotDuration, MetricNames.snapshotRows, MetricNames.snapshotBytes].sort(),
    );
    expect(document![MetricNames.snapshotRows]).toBe(14);
    expect(document![MetricNames.snapshotBytes]).toBe(1234);
    expect(document![MetricNames.snapshotDuration]).toBe(250);
  });

  it('prints nothing outside Lambda, and drops what was recorded', () => {
    expect(publishesMetrics({})).toBe(false);
    expect(
      emitted(undefined, () => recordApiOutcome('upload-audio-chunk', { ok: true, result: { size_bytes: 10, duration: 1 } }, 5)),
    ).toEqual([]);
    expect(metrics.hasStoredMetrics()).toBe(false);
  });

  it('prints nothing when the invocation recorded nothing', () => {
    expect(emitted('fn', () => recordApiOutcome('get-session', { ok: true, result: {} }, 5))).toEqual([]);
  });
});

describe('what each outcome records', () => {
  it('counts a received chunk with its bytes and seconds', () => {
    const [document] = emitted('fn', () =>
      recordApiOutcome('upload-audio-chunk', { ok: true, result: { size_bytes: 64000, duration: 2 } }, 5),
    );
    expect(document![MetricNames.chunksReceived]).toBe(1);
    expect(document![MetricNames.audioBytesReceived]).toBe(64000);
    expect(document![MetricNames.audioSecondsReceived]).toBe(2);
  });

  it('counts an on-request transcription that failed on the server, not one the caller was refused', () => {
    const [failed] = emitted('fn', () => recordApiOutcome('process-chunk', { ok: false, serverSide: true }, 5));
    expect(failed![MetricNames.chunksFailed]).toBe(1);
    expect(failed![MetricNames.chunksTranscribed]).toBe(0);
    expect(emitted('fn', () => recordApiOutcome('process-chunk', { ok: false, serverSide: false }, 5))).toEqual([]);
    const [failedSnapshot] = emitted('fn', () => recordApiOutcome('trigger-snapshot', { ok: false, serverSide: true }, 5));
    expect(failedSnapshot![MetricNames.snapshotsFailed]).toBe(1);
  });

  it('counts inserted chunks transcribed and failed, with the lag of those done', () => {
    const [document] = emitted('fn', () =>
      recordInsertOutcomes(
        [
          { key: 'audio/s/1.wav', outcome: 'done', chunk_id: '1', session_id: 's' },
          { key: 'audio/s/2.wav', outcome: 'failed', chunk_id: '2', session_id: 's', error: 'no speech' },
          { key: 'audio/s/3.wav', outcome: 'skipped', reason: 'already transcribed' },
        ],
        new Map([
          ['audio/s/1.wav', 1_000],
          ['audio/s/2.wav', 1_500],
        ]),
        4_000,
      ),
    );
    expect(document![MetricNames.chunksTranscribed]).toBe(1);
    expect(document![MetricNames.chunksFailed]).toBe(1);
    expect(document![MetricNames.transcriptionLag]).toBe(3_000);
  });
});

describe('the API middleware', () => {
  const apiEvent = (routeKey: string) =>
    ({
      version: '2.0',
      routeKey,
      rawPath: '/',
      rawQueryString: '',
      headers: {},
      requestContext: { timeEpoch: Date.now() - 40 },
      isBase64Encoded: false,
    }) as any;
  const context = { functionName: 'fn', awsRequestId: 'request-1', getRemainingTimeInMillis: () => 10_000 } as any;

  it('records the outcome of the route the event names, and flushes after the answer and after an error', async () => {
    useDependencies(Promise.resolve({} as Dependencies));
    const upload = apiHandler({ message: 'stored', status: 201, run: async () => ({ size_bytes: 321, duration: 1.5 }) });
    const trigger = apiHandler({
      message: 'taken',
      run: async (): Promise<unknown> => {
        throw new Error('store down');
      },
    });
    const lines: string[] = [];
    const log = vi.spyOn((metrics as unknown as { console: Console }).console, 'log').mockImplementation((line: unknown) => {
      lines.push(String(line));
    });
    const previous = process.env.AWS_LAMBDA_FUNCTION_NAME;
    process.env.AWS_LAMBDA_FUNCTION_NAME = 'fn';
    try {
      expect((await upload(apiEvent('POST /sessions/{session_id}/audio_chunks'), context)).statusCode).toBe(201);
      expect((await trigger(apiEvent('POST /sandbox_snapshot/trigger'), context)).statusCode).toBe(500);
      expect((await upload(apiEvent('GET /sessions/{session_id}'), context)).statusCode).toBe(201);
    } finally {
      if (previous === undefined) delete process.env.AWS_LAMBDA_FUNCTION_NAME;
      else process.env.AWS_LAMBDA_FUNCTION_NAME = previous;
      log.mockRestore();
    }
    const documents = lines.map((line) => JSON.parse(line));
    // The third call's route records nothing, so nothing is printed for it.
    expect(documents).toHaveLength(2);
    expect(documents[0]![MetricNames.chunksReceived]).toBe(1);
    expect(documents[0]![MetricNames.audioBytesReceived]).toBe(321);
    expect(documents[1]![MetricNames.snapshotsFailed]).toBe(1);
  });
});
