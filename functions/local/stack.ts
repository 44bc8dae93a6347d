/**
 * The whole service on one machine: the gateway for the route table, S3-style notifications and an
 * EventBridge-style scheduler for the event functions, all over the embedded adapters.
 */
import { DirectoryObjectStore } from '../adapters/object-store/directory';
import { buildDependencies, useDependencies } from '../config';
import type { Dependencies } from '../core/dependencies';
import { parseCorsOrigins } from '../http/cors';
import { logger } from '../logger';
import { eventFunctions, routes } from '../routes';
import type { Settings } from '../settings';
import { startGateway } from './gateway';
import { objectNotifications } from './object-notifications';
import { resumeTranscriptions } from './resume-transcriptions';
import { type Scheduler, startScheduler } from './scheduler';
import { serveSignedDownload } from './signed-downloads';
import { serveSignedUpload } from './signed-uploads';

export interface LocalStack {
  url: string;
  dependencies: Dependencies;
  scheduler: Scheduler;
  /** The retention sweep's schedule. */
  retentionScheduler: Scheduler;
  /** Waits for object notifications still being delivered. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

export const startLocalStack = async (settings: Settings): Promise<LocalStack> => {
  const corsOrigins = parseCorsOrigins(settings.CORS_ORIGINS);
  const notifications = objectNotifications(eventFunctions);
  // Upload URLs name the gateway, whose address (PORT=0 picks one) is known only once it listens.
  let gatewayUrl = '';
  const built = buildDependencies(settings, {
    onObjectCreated: (object) => notifications.notify(object),
    uploadBaseUrl: () => gatewayUrl,
  });
  useDependencies(built);
  const dependencies = await built;
  const { store } = dependencies;
  const gateway = await startGateway(routes, settings.PORT, settings.HOST, {
    corsOrigins,
    ...(store instanceof DirectoryObjectStore
      ? {
          signedUploads: (request, url) => serveSignedUpload(store, request, url),
          signedDownloads: (request, url) => serveSignedDownload(store, request, url),
        }
      : {}),
  });
  gatewayUrl = gateway.url;
  const scheduler = startScheduler(eventFunctions, settings.SNAPSHOT_INTERVAL_SECONDS);
  const retentionScheduler = startScheduler(eventFunctions, settings.RETENTION_SWEEP_INTERVAL_SECONDS, 'retention-schedule');
  await resumeTranscriptions(dependencies, {
    ownsDatabase: settings.DATABASE_URL === undefined,
    notify: (object) => notifications.notify(object),
  });
  logger.info('Local stack listening', { url: gateway.url, dataDir: settings.DATA_DIR, corsOrigins });
  return {
    url: gateway.url,
    dependencies,
    scheduler,
    retentionScheduler,
    settle: () => notifications.drain(),
    async close() {
      await gateway.close();
      await scheduler.stop();
      await retentionScheduler.stop();
      await notifications.drain();
      await dependencies.transcriber.close();
      await dependencies.sql.close();
    },
  };
};
