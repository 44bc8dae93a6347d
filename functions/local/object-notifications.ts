/**
 * The local stand-in for S3 event notifications: when the directory store publishes an object, each
 * event function whose `object-created` prefix matches is invoked with an S3 ObjectCreated:Put event,
 * after the write has returned, as S3 delivers them asynchronously.
 */
import { randomUUID } from 'node:crypto';
import type { S3Event } from 'aws-lambda';
import { MAX_DIRECT_UPLOAD_SECONDS } from '../core/audio-uploads';
import type { StoredObject } from '../core/ports/object-store';
import { loadHandler } from '../handler-modules';
import { logger } from '../logger';
import type { EventFunctionDefinition } from '../routes';
import { localLambdaContext } from './lambda-context';

export const LOCAL_BUCKET = 'local-data-dir';

export const objectCreatedEvent = (object: StoredObject, bucket = LOCAL_BUCKET): S3Event => ({
  Records: [
    {
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: 'local',
      eventTime: object.lastModified,
      eventName: 'ObjectCreated:Put',
      userIdentity: { principalId: 'local' },
      requestParameters: { sourceIPAddress: '127.0.0.1' },
      responseElements: { 'x-amz-request-id': randomUUID(), 'x-amz-id-2': randomUUID() },
      s3: {
        s3SchemaVersion: '1.0',
        configurationId: 'local',
        bucket: { name: bucket, ownerIdentity: { principalId: 'local' }, arn: `arn:aws:s3:::${bucket}` },
        // S3 URL-encodes keys in events (spaces as "+"); handlers decode them, so do the same here.
        object: {
          key: encodeURIComponent(object.key).replace(/%2F/g, '/').replace(/%20/g, '+'),
          size: object.size,
          eTag: '',
          sequencer: Date.now().toString(16),
        },
      },
    },
  ],
});

export interface ObjectNotifications {
  notify(object: StoredObject): void;
  /** Resolves when every delivery started so far has finished. */
  drain(): Promise<void>;
}

/**
 * Longer than the function's Lambda timeout (functions/routes.ts), unlike API routes and the schedule:
 * locally every chunk waits in one queue for the single recognizer process, so a delivery's time includes
 * its wait behind the chunks before it, which parallel Lambda invocations do not have. With the Lambda
 * timeout a burst of uploads would time out deliveries whose decode then finishes anyway.
 */
const QUEUE_WAIT_MS = 15 * 60_000;
/** And a direct upload may hold hours of audio, which pocketsphinx takes locally without Lambda's cap. */
const LOCAL_NOTIFICATION_TIMEOUT_MS = QUEUE_WAIT_MS + MAX_DIRECT_UPLOAD_SECONDS * 1000;

export const objectNotifications = (functions: readonly EventFunctionDefinition[]): ObjectNotifications => {
  const inFlight = new Set<Promise<void>>();
  const deliver = async (definition: EventFunctionDefinition, object: StoredObject) => {
    try {
      const handler = await loadHandler<S3Event, unknown>(definition.handler);
      await handler(objectCreatedEvent(object), localLambdaContext(`interview-ops-${definition.handler}`, LOCAL_NOTIFICATION_TIMEOUT_MS));
    } catch (error) {
      // S3's asynchronous invocation would retry and then send the event to the failure destination.
      logger.error('Object notification failed', { handler: definition.handler, key: object.key, error });
    }
  };
  return {
    notify(object) {
      for (const definition of functions) {
        if (definition.trigger.kind !== 'object-created' || !object.key.startsWith(definition.trigger.prefix)) continue;
        const delivery = new Promise<void>((resolve) => setImmediate(resolve)).then(() => deliver(definition, object));
        inFlight.add(delivery);
        void delivery.finally(() => inFlight.delete(delivery));
      }
    },
    async drain() {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
  };
};
