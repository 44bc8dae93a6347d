/**
 * The deploy-time migration: a CDK `triggers.Trigger` invokes this after each deploy, so the schema is
 * current before traffic reaches new code and no cold start pays for it. A throw fails the deploy.
 * The SQL files travel in the bundle beside the code (lib/bundling.ts copies db/migrations).
 * Then, with the time left, it makes chunks transcribed before search existed searchable; that part
 * never fails the deploy, and the next deploy goes on where it stopped.
 */
import type { Context } from 'aws-lambda';
import { loadMigrations } from '../../db/migrations';
import { dependencies } from '../config';
import { migrate } from '../core/migrations';
import { backfillSearchText } from '../core/transcripts/backfill-search-text';

/** Left for the reply and the logs when the backfill stops. */
const BACKFILL_MARGIN_MS = 30_000;

export const handler = async (_event?: unknown, context?: Pick<Context, 'getRemainingTimeInMillis'>): Promise<{ applied: string[] }> => {
  const deps = await dependencies();
  const { sql, logger } = deps;
  const applied = await migrate(sql, loadMigrations());
  logger.info('Migrations checked', { applied });
  const deadline = Date.now() + (context ? context.getRemainingTimeInMillis() - BACKFILL_MARGIN_MS : 60_000);
  const backfill = await backfillSearchText(deps, { deadline }).catch((error: unknown) => {
    logger.warn('Search text backfill stopped; the next deploy resumes it', { error });
    return null;
  });
  if (backfill) logger.info('Search text backfill', { ...backfill });
  return { applied };
};
