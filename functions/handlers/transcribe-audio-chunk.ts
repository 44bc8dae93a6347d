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
import { transcribeInsertedAudio, type InsertOutcome } from '../core/transcripts/on-insert';
import { logger } from '../logger';

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
  const keys = (event.Records ?? [])
    .filter((record) => record.eventName?.startsWith('ObjectCreated:'))
    .map((record) => objectKeyOf(record.s3.object.key))
    .filter((key): key is string => key !== null);
  return { outcomes: await transcribeInsertedAudio(await dependencies(), keys, { deadline }) };
};

export const handler = middy<S3Event, { outcomes: InsertOutcome[] }>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(transcribeNewAudio);
