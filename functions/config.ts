/**
 * The wiring module: the one place that picks adapters for the ports, from the settings.
 * Dependencies are built on first use and kept for the life of the process (a Lambda container,
 * or the local stack), never at module scope, so importing a handler has no side effects.
 */
import { join, resolve } from 'node:path';
import { loadMigrations } from '../db/migrations';
import { AWS_TRANSCRIBE_BATCH_FORMATS } from './adapters/batch-transcriber/aws-transcribe-batch-identity';
import { readTranscribeOutput } from './adapters/batch-transcriber/transcribe-output';
import { deferredBatchTranscriber, deferredObjectStore, deferredSql, deferredTranscriber } from './adapters/deferred-ports';
import { DirectoryObjectStore } from './adapters/object-store/directory';
import { s3LocationOf } from './adapters/object-store/s3-location';
import { AWS_TRANSCRIBE_ENGINE, AWS_TRANSCRIBE_FORMATS } from './adapters/transcriber/aws-transcribe-identity';
import type { DatabaseLogins } from './core/database-logins';
import type { Dependencies, RetentionSettings } from './core/dependencies';
import { objectTagsFor } from './core/lifecycle/retention-tags';
import { migrate } from './core/migrations';
import type { BatchTranscriber } from './core/ports/batch-transcriber';
import { systemClock } from './core/ports/clock';
import type { ObjectStore, StoredObject } from './core/ports/object-store';
import type { Sql } from './core/ports/sql';
import type { Transcriber } from './core/ports/transcriber';
import { markingSnapshotChanges } from './core/snapshots/change-marker';
import { backfillSearchText } from './core/transcripts/backfill-search-text';
import { longestAudioFor } from './core/transcripts/run-deadline';
import { invocationTimeLeftMs } from './invocation';
import { logger } from './logger';
import { eventFunctions } from './routes';
import { readSettings, type Settings } from './settings';
import { traced } from './tracing';

const insertedChunkTimeoutSeconds = (): number =>
  eventFunctions.find((definition) => definition.trigger.kind === 'object-created')?.timeoutSeconds ?? Infinity;

export interface WiringHooks {
  /** Local stand-in for S3 event notifications. */
  onObjectCreated?: (object: StoredObject) => void;
  /** Where the local gateway takes signed uploads: the directory store's upload URLs point there. */
  uploadBaseUrl?: () => string;
}

// Adapters load on demand, so a Lambda bundle leaves out the local database engines (see lib/bundling.ts).
// Lambda bundles define INTERVIEW_OPS_OMIT_LOCAL_ADAPTERS (PGlite, node-postgres, pocketsphinx), and
// INTERVIEW_OPS_OMIT_S3 / INTERVIEW_OPS_OMIT_TRANSCRIBE for a function that never touches the bucket or
// Amazon Transcribe, as "true" (lib/bundling.ts). That makes the import it guards dead code, so the
// code is not parsed at every cold start. Each condition must stay written out in its `if` for esbuild
// to drop the branch.

/** The function was bundled without the adapter; its needs in lib/function-needs.ts (and its IAM grants) leave it out too. */
const notBundled = (adapter: string): never => {
  throw new Error(`The ${adapter} adapter is not bundled into this function; lib/function-needs.ts grants it no use of it`);
};
const openSql = async (settings: Settings): Promise<Sql> => {
  const { DB_CLUSTER_ARN: resourceArn, DB_SECRET_ARN: secretArn, DB_NAME: database } = settings;
  if (resourceArn && secretArn) {
    return deferredSql(async () => {
      const [{ RDSDataClient }, { openRdsDataSql }] = await Promise.all([
        import('@aws-sdk/client-rds-data'),
        import('./adapters/sql/rds-data'),
      ]);
      return openRdsDataSql(traced(new RDSDataClient({})), { resourceArn, secretArn, database }, { timeLeftMs: invocationTimeLeftMs });
    });
  }
  if (process.env.INTERVIEW_OPS_OMIT_LOCAL_ADAPTERS !== 'true') {
    if (settings.DATABASE_URL) return (await import('./adapters/sql/pg')).openPgSql(settings.DATABASE_URL);
    return (await import('./adapters/sql/pglite')).openPgliteSql(join(resolve(settings.DATA_DIR), '.pglite'));
  }
  // A Lambda function without a database login (lib/function-needs.ts): only a use of the port fails.
  return deferredSql(async () => notBundled('database'));
};

const openStore = async (settings: Settings, hooks: WiringHooks): Promise<ObjectStore> => {
  const bucket = settings.BUCKET_NAME;
  if (bucket) {
    return deferredObjectStore(s3LocationOf(bucket), async () => {
      if (process.env.INTERVIEW_OPS_OMIT_S3 !== 'true') {
        const [{ S3Client }, { S3ObjectStore }] = await Promise.all([import('@aws-sdk/client-s3'), import('./adapters/object-store/s3')]);
        // Upload URLs carry no SDK checksum of an empty body (see S3ObjectStore's constructor).
        return new S3ObjectStore(
          traced(new S3Client({})),
          bucket,
          { tagsFor: objectTagsFor },
          new S3Client({ requestChecksumCalculation: 'WHEN_REQUIRED' }),
        );
      }
      return notBundled('S3');
    });
  }
  return new DirectoryObjectStore(settings.DATA_DIR, {
    ...(hooks.onObjectCreated ? { onObjectCreated: hooks.onObjectCreated } : {}),
    ...(hooks.uploadBaseUrl ? { uploadBaseUrl: hooks.uploadBaseUrl } : {}),
  }).open();
};

/** Unset TRANSCRIBER: Amazon Transcribe on Lambda, pocketsphinx (kept warm) elsewhere. */
export const transcriberEngineFor = (settings: Settings): 'pocketsphinx' | 'aws-transcribe' =>
  settings.TRANSCRIBER ?? (settings.AWS_LAMBDA_FUNCTION_NAME ? 'aws-transcribe' : 'pocketsphinx');

/** Never fails: without pocketsphinx installed the service runs and transcription answers 503 with the fix. */
const openTranscriber = async (settings: Settings): Promise<Transcriber> => {
  if (transcriberEngineFor(settings) === 'aws-transcribe') {
    const options = settings.TRANSCRIBE_LANGUAGE_OPTIONS?.split(',')
      .map((code) => code.trim())
      .filter(Boolean);
    return deferredTranscriber({ engine: AWS_TRANSCRIBE_ENGINE, acceptedFormats: AWS_TRANSCRIBE_FORMATS }, async () => {
      if (process.env.INTERVIEW_OPS_OMIT_TRANSCRIBE !== 'true') {
        const { AwsTranscribeTranscriber } = await import('./adapters/transcriber/aws-transcribe');
        return new AwsTranscribeTranscriber({
          languageCode: settings.TRANSCRIBE_LANGUAGE,
          ...(options && options.length >= 2 ? { identifyLanguageOptions: options } : {}),
        });
      }
      return notBundled('Amazon Transcribe');
    });
  }
  if (process.env.INTERVIEW_OPS_OMIT_LOCAL_ADAPTERS !== 'true') {
    const [{ PocketsphinxTranscriber }, { POCKETSPHINX_INSTALL_HINT }] = await Promise.all([
      import('./adapters/transcriber/pocketsphinx'),
      import('./adapters/transcriber/pocketsphinx/installation'),
    ]);
    const transcriber = new PocketsphinxTranscriber({ logger, warm: true });
    if (!transcriber.installed())
      logger.warn('Speech recognizer missing: uploads are kept, transcription answers 503', { hint: POCKETSPHINX_INSTALL_HINT });
    return transcriber;
  }
  return notBundled('pocketsphinx');
};

/**
 * The logins the migrator provisions, read from their secrets; undefined where there are none (locally,
 * one connection does everything). Bundled only into the migration function (INTERVIEW_OPS_OMIT_SECRETS).
 */
export const databaseLogins = async (settings: Settings = readSettings()): Promise<DatabaseLogins | undefined> => {
  const { DB_APP_SECRET_ARN: appArn, DB_READER_SECRET_ARN: readerArn } = settings;
  if (!appArn || !readerArn) return undefined;
  if (process.env.INTERVIEW_OPS_OMIT_SECRETS !== 'true') {
    const [{ SecretsManagerClient }, { readLoginSecret }] = await Promise.all([
      import('@aws-sdk/client-secrets-manager'),
      import('./adapters/secrets/secrets-manager'),
    ]);
    const client = traced(new SecretsManagerClient({}));
    const [app, reader] = await Promise.all([readLoginSecret(client, appArn), readLoginSecret(client, readerArn)]);
    return { app, reader };
  }
  return notBundled('Secrets Manager');
};

const languageOptionsOf = (settings: Settings) =>
  settings.TRANSCRIBE_LANGUAGE_OPTIONS?.split(',')
    .map((code) => code.trim())
    .filter(Boolean);

/** Amazon Transcribe batch, beside streaming on AWS, reading from and writing to the bucket; none locally. */
const openBatchTranscriber = (settings: Settings): BatchTranscriber | undefined => {
  const bucket = settings.BUCKET_NAME;
  if (transcriberEngineFor(settings) !== 'aws-transcribe' || !bucket) return undefined;
  const options = languageOptionsOf(settings);
  const languageCode = settings.TRANSCRIBE_LANGUAGE;
  return deferredBatchTranscriber(
    {
      engine: AWS_TRANSCRIBE_ENGINE,
      acceptedFormats: AWS_TRANSCRIBE_BATCH_FORMATS,
      readOutput: (output, duration) => readTranscribeOutput(output, languageCode, duration, AWS_TRANSCRIBE_ENGINE),
    },
    async () => {
      if (process.env.INTERVIEW_OPS_OMIT_TRANSCRIBE !== 'true') {
        const [{ TranscribeClient }, { AwsTranscribeBatch }] = await Promise.all([
          import('@aws-sdk/client-transcribe'),
          import('./adapters/batch-transcriber/aws-transcribe-batch'),
        ]);
        return new AwsTranscribeBatch({
          client: traced(new TranscribeClient({})),
          bucket,
          languageCode,
          ...(options && options.length >= 2 ? { identifyLanguageOptions: options } : {}),
        });
      }
      return notBundled('Amazon Transcribe');
    },
  );
};

/** On Lambda the deploy-time trigger (functions/handlers/migrate-database.ts) migrates, not every cold start. */
export const runsMigrationsAtStart = (settings: Settings): boolean =>
  settings.RUN_MIGRATIONS_AT_START ?? settings.AWS_LAMBDA_FUNCTION_NAME === undefined;

/** Off unless set; objects expire by the bucket's tag-filtered lifecycle rules on S3 (lib/storage.ts), by the sweep in a data directory. */
export const retentionSettingsFor = (settings: Settings): RetentionSettings => ({
  ...(settings.AUDIO_RETENTION_DAYS === undefined ? {} : { audioDays: settings.AUDIO_RETENTION_DAYS }),
  ...(settings.TRANSCRIPT_RETENTION_DAYS === undefined ? {} : { transcriptDays: settings.TRANSCRIPT_RETENTION_DAYS }),
  ...(settings.SESSION_RETENTION_DAYS === undefined ? {} : { sessionDays: settings.SESSION_RETENTION_DAYS }),
  objectsExpiredBy: settings.BUCKET_NAME ? 'bucket-lifecycle' : 'sweep',
});

export const buildDependencies = async (settings: Settings, hooks: WiringHooks = {}): Promise<Dependencies> => {
  const [sql, store, transcriber] = await Promise.all([openSql(settings), openStore(settings, hooks), openTranscriber(settings)]);
  const batchTranscriber = openBatchTranscriber(settings);
  if (runsMigrationsAtStart(settings)) {
    const applied = await migrate(sql, loadMigrations());
    if (applied.length > 0) logger.info('Applied migrations', { applied });
    // Chunks transcribed before search existed (migration 006): at most 30 s, and the next start resumes it.
    const backfill = await backfillSearchText({ sql, store }, { deadline: Date.now() + 30_000 }).catch((error: unknown) => {
      logger.warn('Search text backfill stopped; the next start resumes it', { error });
      return null;
    });
    if (backfill && (backfill.filled > 0 || backfill.missing > 0)) logger.info('Search text backfill', { ...backfill });
  }
  return {
    // Every writer goes through this Sql, which moves the snapshot change marker after each committed write.
    sql: markingSnapshotChanges(sql, { store, logger }),
    store,
    clock: systemClock,
    logger,
    audio: {
      // What batch reads but streaming cannot (MP4/AAC on AWS) goes to a batch job (core/transcripts/batch.ts).
      acceptedFormats: [...new Set([...transcriber.acceptedFormats, ...(batchTranscriber?.acceptedFormats ?? [])])],
      maxBytes: settings.MAX_AUDIO_BYTES,
      // No longer than the inserted-chunk function can stream before its timeout, whatever the setting says.
      maxSeconds: Math.min(settings.MAX_AUDIO_SECONDS, longestAudioFor(insertedChunkTimeoutSeconds())),
      maxOnDemandSeconds: settings.MAX_ON_DEMAND_AUDIO_SECONDS,
    },
    transcriber,
    ...(batchTranscriber ? { batchTranscriber } : {}),
    snapshots: {
      retentionDays: settings.SNAPSHOT_RETENTION_DAYS,
      retentionEnforcedBy: settings.SNAPSHOT_RETENTION_BY ?? (settings.AWS_LAMBDA_FUNCTION_NAME ? 'bucket-lifecycle' : 'scheduler'),
    },
    retention: retentionSettingsFor(settings),
  };
};

let current: Promise<Dependencies> | undefined;

/** The process-wide dependencies; a failed build is forgotten so the next call tries again. */
export const dependencies = (): Promise<Dependencies> => {
  current ??= buildDependencies(readSettings()).catch((error: unknown) => {
    current = undefined;
    throw error;
  });
  return current;
};

/** Installs dependencies built elsewhere (the local stack, with its hooks) for the handlers to use. */
export const useDependencies = (built: Promise<Dependencies>): void => {
  current = built;
};
