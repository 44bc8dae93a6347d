/**
 * The local stand-in for EventBridge: invokes each `schedule` event function every interval with a
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
  kind: Exclude<EventTrigger['kind'], 'object-created'> = 'schedule',
): Scheduler => {
  const scheduled = functions.filter((definition) => definition.trigger.kind === kind);
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
  const timer = scheduled.length > 0 ? setInterval(() => void tick(), intervalSeconds * 1000) : undefined;
  timer?.unref();

  return {
    tick,
    async stop() {
      if (timer) clearInterval(timer);
      await Promise.all([...running.values()]);
    },
  };
};
