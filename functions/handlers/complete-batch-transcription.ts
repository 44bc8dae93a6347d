/**
 * The target of the EventBridge rule on "Transcribe Job State Change" (COMPLETED or FAILED, for this
 * service's job names): turns the job's output into the chunk's transcript files, or records why it
 * failed, through functions/core/transcripts/batch.ts. A failure a retry may cure is thrown, so
 * EventBridge's asynchronous invocation retries it and then sends it to the failure queue.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { dependencies } from '../config';
import { type BatchOutcome, completeBatchTranscription } from '../core/transcripts/batch';
import { logger } from '../logger';

export const TRANSCRIBE_JOB_STATE_CHANGE = 'Transcribe Job State Change';

type JobStateChange = EventBridgeEvent<
  typeof TRANSCRIBE_JOB_STATE_CHANGE,
  { TranscriptionJobName?: string; TranscriptionJobStatus?: string; FailureReason?: string }
>;

export const handler = middy<JobStateChange, BatchOutcome, Error, Context>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async (event) => {
    const { TranscriptionJobName: jobName, TranscriptionJobStatus: status, FailureReason: failureReason } = event.detail ?? {};
    if (!jobName || (status !== 'COMPLETED' && status !== 'FAILED')) {
      logger.warn('Ignoring a Transcribe event that ends no job', { jobName, status });
      return { outcome: 'skipped', reason: 'not the end of a job' };
    }
    const deps = await dependencies();
    if (!deps.batchTranscriber) throw new Error('Batch transcription is not configured (TRANSCRIBER=aws-transcribe and BUCKET_NAME)');
    return completeBatchTranscription({ ...deps, batchTranscriber: deps.batchTranscriber }, { jobName, status, failureReason });
  });
