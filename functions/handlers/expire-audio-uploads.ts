/**
 * The housekeeping schedule's target (every 15 minutes; locally the scheduler's): drops direct-upload
 * reservations whose URL expired, with its grace, without their audio arriving
 * (functions/core/audio-uploads.ts). A failure is thrown so the next run, or Lambda's retry, sweeps again.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { dependencies } from '../config';
import { expireAudioUploads } from '../core/audio-uploads';
import { logger } from '../logger';

export const handler = middy<ScheduledEvent, Awaited<ReturnType<typeof expireAudioUploads>>, Error, Context>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async () => {
    const deps = await dependencies();
    const report = await expireAudioUploads(deps, deps.clock.now());
    if (report.expired.length > 0 || report.awaitingArrival.length > 0) logger.info('Swept direct uploads', { ...report });
    return report;
  });
