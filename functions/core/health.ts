import type { Dependencies } from './dependencies';
import { dependencyUnavailable } from './errors';

export interface HealthReport {
  status: 'ok';
  checks: Record<string, 'ok'>;
}

/** Liveness: the process answers. Nothing is probed, so it costs no dependency a call. */
export const liveness = (): { status: 'ok' } => ({ status: 'ok' });

/** Probes each dependency once; any failure is a 503 naming the parts that failed, never their internals. */
export const checkHealth = async ({ sql, store, logger }: Pick<Dependencies, 'sql' | 'store' | 'logger'>): Promise<HealthReport> => {
  const probes: Record<string, () => Promise<unknown>> = {
    database: () => sql.query('SELECT 1 AS ok'),
    store: () => store.ping(),
  };
  const outcomes = await Promise.all(
    Object.entries(probes).map(async ([name, probe]) => {
      try {
        await probe();
        return [name, null] as const;
      } catch (error) {
        logger.warn('Health check failed', { dependency: name, error });
        return [name, error] as const;
      }
    }),
  );
  const failed = outcomes.filter(([, error]) => error !== null).map(([name]) => name);
  if (failed.length > 0) throw dependencyUnavailable('Service unhealthy', `Unavailable: ${failed.join(', ')}`);
  return { status: 'ok', checks: Object.fromEntries(outcomes.map(([name]) => [name, 'ok' as const])) };
};
