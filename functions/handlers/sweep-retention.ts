/**
 * The retention sweep's entry point: EventBridge daily on AWS, the local scheduler every
 * RETENTION_SWEEP_INTERVAL_SECONDS. A failure is thrown so Lambda counts it; the next run redoes the work.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { dependencies } from '../config';
import { runRetentionSweep, type SweepReport } from '../core/lifecycle/retention-sweep';
import { logger } from '../logger';

export const handler = middy<ScheduledEvent, SweepReport, Error, Context>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async () => {
    const deps = await dependencies();
    return runRetentionSweep(deps, deps.clock.now());
  });
