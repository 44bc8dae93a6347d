/**
 * The deploy-time migration: a CDK `triggers.Trigger` invokes this after each deploy, so the schema is
 * current before traffic reaches new code and no cold start pays for it. A throw fails the deploy.
 * The SQL files travel in the bundle beside the code (lib/bundling.ts copies db/migrations). After
 * migrating it provisions the app and reader logins, so the grants cover what the migrations added.
 */
import middy from '@middy/core';
import { loadMigrations } from '../../db/migrations';
import { databaseLogins, dependencies } from '../config';
import { provisionLogins } from '../core/database-logins';
import { migrate } from '../core/migrations';
import { trackInvocationDeadline } from '../invocation';
import { traceInvocation } from '../tracing';

const migrateAndProvision = async (): Promise<{ applied: string[]; logins: string[] }> => {
  const { sql, logger } = await dependencies();
  const applied = await migrate(sql, loadMigrations());
  const logins = await databaseLogins();
  if (logins) await provisionLogins(sql, logins);
  const names = logins ? [logins.app.username, logins.reader.username] : [];
  logger.info('Migrations checked, logins provisioned', { applied, logins: names });
  return { applied, logins: names };
};

export const handler = middy<unknown, { applied: string[]; logins: string[] }>()
  .use(traceInvocation())
  .use(trackInvocationDeadline())
  .handler(migrateAndProvision);
