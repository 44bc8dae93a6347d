/**
 * The deploy-time migration: a CDK `triggers.Trigger` invokes this after each deploy, so the schema is
 * current before traffic reaches new code and no cold start pays for it. A throw fails the deploy.
 * The SQL files travel in the bundle beside the code (lib/bundling.ts copies db/migrations). After
 * migrating it provisions the app and reader logins, so the grants cover what the migrations added.
 * Then, with the time left, it makes chunks transcribed before search existed searchable; that part
 * never fails the deploy, and the next deploy goes on where it stopped.
 */
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { loadMigrations } from '../../db/migrations';
import { databaseLogins, dependencies } from '../config';
import { provisionLogins } from '../core/database-logins';
import { migrate } from '../core/migrations';
import { backfillSearchText } from '../core/transcripts/backfill-search-text';
import { trackInvocationDeadline } from '../invocation';
import { traceInvocation } from '../tracing';

/** Left for the reply and the logs when the backfill stops. */
const BACKFILL_MARGIN_MS = 30_000;

interface MigrationOutcome {
  applied: string[];
  logins: string[];
}

const migrateAndProvision = async (_event: unknown, context?: Pick<Context, 'getRemainingTimeInMillis'>): Promise<MigrationOutcome> => {
  const deps = await dependencies();
  const { sql, logger } = deps;
  const applied = await migrate(sql, loadMigrations());
  const logins = await databaseLogins();
  if (logins) await provisionLogins(sql, logins);
  const names = logins ? [logins.app.username, logins.reader.username] : [];
  logger.info('Migrations checked, logins provisioned', { applied, logins: names });
  const remaining = context?.getRemainingTimeInMillis?.();
  const deadline = Date.now() + (remaining === undefined ? 60_000 : remaining - BACKFILL_MARGIN_MS);
  const backfill = await backfillSearchText(deps, { deadline }).catch((error: unknown) => {
    logger.warn('Search text backfill stopped; the next deploy resumes it', { error });
    return null;
  });
  if (backfill) logger.info('Search text backfill', { ...backfill });
  return { applied, logins: names };
};

export const handler = middy<unknown, MigrationOutcome>()
  .use(traceInvocation())
  .use(trackInvocationDeadline())
  .handler(migrateAndProvision);
