/**
 * The deploy-time migration: a CDK `triggers.Trigger` invokes this after each deploy, so the schema is
 * current before traffic reaches new code and no cold start pays for it. A throw fails the deploy.
 * The SQL files travel in the bundle beside the code (lib/bundling.ts copies db/migrations).
 */
import { loadMigrations } from '../../db/migrations';
import { dependencies } from '../config';
import { migrate } from '../core/migrations';

export const handler = async (): Promise<{ applied: string[] }> => {
  const { sql, logger } = await dependencies();
  const applied = await migrate(sql, loadMigrations());
  logger.info('Migrations checked', { applied });
  return { applied };
};
