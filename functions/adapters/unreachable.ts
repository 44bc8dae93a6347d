/** Helpers each adapter uses to translate "the other side is down" into a core error at its boundary. */
import { isDomainError, unreachableDependency } from '../core/errors';

/** Connection-level errno codes: the peer is down or unreachable. */
export const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
]);

export const errorCodeOf = (error: Error): string => String((error as { code?: unknown }).code ?? '');

/**
 * A function that throws `error` again, as a core dependency_unavailable error when `unreachable` says
 * the dependency failed, as it was otherwise (a core error, or a fault of ours, which stays a 500).
 */
export const failureTranslator =
  (unreachable: (error: Error) => boolean) =>
  (error: unknown): never => {
    if (error instanceof Error && !isDomainError(error) && unreachable(error)) throw unreachableDependency(error);
    throw error;
  };
