/**
 * Invoked by S3 ObjectCreated events on audio/ (and locally by the directory store's notifications,
 * which send the same event shape): transcribes each new chunk before the invocation's deadline. A chunk
 * that cannot be transcribed is recorded as failed and logged, not thrown, so it is not retried blindly
 * (POST /process_chunk retries it); a failure a retry may cure is thrown, so Lambda retries the event and
 * then sends it to the failure queue.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, S3Event } from 'aws-lambda';
import { dependencies } from '../config';
import { type InsertOutcome, transcribeInsertedAudio } from '../core/transcripts/on-insert';
import { trackInvocationDeadline } from '../invocation';
import { logger } from '../logger';
import { emitMetrics, recordInsertOutcomes } from '../observability';
import { traceInvocation } from '../tracing';

/** S3 event keys are URL-encoded with "+" for spaces; null when the encoding is broken. */
export const objectKeyOf = (encoded: string): string | null => {
  try {
    return decodeURIComponent(encoded.replace(/\+/g, ' '));
  } catch {
    return null;
  }
};

const transcribeNewAudio = async (event: S3Event, context: Context): Promise<{ outcomes: InsertOutcome[] }> => {
  const deadline = Date.now() + context.getRemainingTimeInMillis();
  const records = (event.Records ?? [])
    .filter((record) => record.eventName?.startsWith('ObjectCreated:'))
    .map((record) => ({ key: objectKeyOf(record.s3.object.key), created: Date.parse(record.eventTime) }))
    .filter((record): record is { key: string; created: number } => record.key !== null);
  const keys = records.map((record) => record.key);
  const outcomes = await transcribeInsertedAudio(await dependencies(), keys, { deadline, runId: context.awsRequestId });
  // Lag: from S3's record of the upload to the transcript written (a retried event counts the retries' wait too).
  const createdAt = new Map(records.filter((record) => Number.isFinite(record.created)).map((record) => [record.key, record.created]));
  recordInsertOutcomes(outcomes, createdAt, Date.now());
  return { outcomes };
};

export const handler = middy<S3Event, { outcomes: InsertOutcome[] }>()
  .use(traceInvocation())
  .use(trackInvocationDeadline())
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(emitMetrics())
  .handler(transcribeNewAudio);
