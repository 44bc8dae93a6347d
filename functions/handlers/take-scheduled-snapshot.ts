/**
 * The EventBridge rate(1 minute) target, and locally the scheduler's: one snapshot named by the event's
 * time, then retention where this deployment enforces it (functions/core/snapshots/scheduled-snapshot.ts).
 * A failure is thrown so Lambda counts it and retries the same event, which lands on the same snapshot id.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { dependencies } from '../config';
import { runScheduledSnapshot, type ScheduledSnapshotReport } from '../core/snapshots/scheduled-snapshot';
import { trackInvocationDeadline } from '../invocation';
import { logger } from '../logger';
import { emitMetrics, recordSnapshotFailed, recordSnapshotTaken } from '../observability';
import { traceInvocation } from '../tracing';

/** The instant the event was scheduled for; the invocation time when an event carries none. */
export const scheduledInstantOf = (event: Pick<ScheduledEvent, 'time'>, now: Date): Date => {
  const time = Date.parse(event.time);
  return Number.isFinite(time) ? new Date(time) : now;
};

export const handler = middy<ScheduledEvent, ScheduledSnapshotReport, Error, Context>()
  .use(traceInvocation())
  .use(trackInvocationDeadline())
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(emitMetrics())
  .handler(async (event, context) => {
    const started = Date.now();
    try {
      const deps = await dependencies();
      // A first snapshot too big for one invocation is built over several (first-snapshot-build.ts).
      const budget = { timeLeftMs: () => context.getRemainingTimeInMillis() };
      const report = await runScheduledSnapshot(deps, scheduledInstantOf(event, deps.clock.now()), budget);
      if (report.snapshot.status === 'taken') recordSnapshotTaken(report.snapshot.metadata, Date.now() - started);
      return report;
    } catch (error) {
      recordSnapshotFailed();
      throw error;
    }
  });
