/**
 * The local stand-in for EventBridge: invokes each `schedule` event function every interval (and each
 * `rate` one at its own rate) with a
 * Scheduled Event. A tick that comes while the previous run is still going is skipped and logged.
 */
import { randomUUID } from 'node:crypto';
import type { ScheduledEvent } from 'aws-lambda';
import { loadHandler } from '../handler-modules';
import { logger } from '../logger';
import type { EventFunctionDefinition, EventTrigger } from '../routes';
import { localLambdaContext } from './lambda-context';

export const scheduledEvent = (time: Date, ruleName: string): ScheduledEvent => ({
  version: '0',
  id: randomUUID(),
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '000000000000',
  time: time.toISOString(),
  region: 'local',
  resources: [`arn:aws:events:local:000000000000:rule/${ruleName}`],
  detail: {},
});

export interface Scheduler {
  /** Runs every scheduled function once now, as a tick would (skipping any still running). */
  tick(): Promise<void>;
  stop(): Promise<void>;
}

export const startScheduler = (
  functions: readonly EventFunctionDefinition[],
  intervalSeconds: number,
  kind: 'schedule' | 'retention-schedule' = 'schedule',
): Scheduler => {
  // `rate` housekeeping rides along with the snapshot scheduler, each at its own rate.
  const scheduled = functions.filter(
    (definition) => definition.trigger.kind === kind || (kind === 'schedule' && definition.trigger.kind === 'rate'),
  );
  const running = new Map<string, Promise<void>>();

  const run = (definition: EventFunctionDefinition): Promise<void> => {
    const current = running.get(definition.handler);
    if (current) {
      logger.warn('Scheduled run skipped: the previous run has not finished', { handler: definition.handler });
      return current;
    }
    const started = (async () => {
      try {
        const handler = await loadHandler<ScheduledEvent, unknown>(definition.handler);
        await handler(
          scheduledEvent(new Date(), `interview-ops-${definition.handler}`),
          localLambdaContext(`interview-ops-${definition.handler}`, definition.timeoutSeconds * 1000),
        );
      } catch (error) {
        logger.error('Scheduled run failed', { handler: definition.handler, error });
      } finally {
        running.delete(definition.handler);
      }
    })();
    running.set(definition.handler, started);
    return started;
  };

  const tick = async () => {
    await Promise.all(scheduled.map(run));
  };
  // The snapshot schedule every intervalSeconds; housekeeping at its own rate.
  const timers = scheduled.map((definition) => {
    const seconds = definition.trigger.kind === 'rate' ? definition.trigger.minutes * 60 : intervalSeconds;
    const timer = setInterval(() => void run(definition), seconds * 1000);
    timer.unref();
    return timer;
  });

  return {
    tick,
    async stop() {
      for (const timer of timers) clearInterval(timer);
      await Promise.all([...running.values()]);
    },
  };
};
