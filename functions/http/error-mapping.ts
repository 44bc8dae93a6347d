/**
 * Turns any thrown value into a status and a message safe to show. Only DomainError details and
 * request-validation messages reach callers; everything else is logged and answered generically.
 */
import type * as z from '../validation';
import { isDomainError, type DomainErrorKind } from '../core/errors';
import { ObjectAlreadyExistsError } from '../core/ports/object-store';
import { DRIVER_LOST_CONNECTION_MESSAGES, DRIVER_TIMEOUT_MESSAGES } from '../core/ports/sql';

export interface PublicError {
  statusCode: number;
  message: string;
  error: string;
  /** Whether the failure is ours (logged as an error) rather than the caller's. */
  serverSide: boolean;
}

const STATUS_BY_KIND: Record<DomainErrorKind, number> = {
  invalid_input: 400,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  unsupported_media_type: 415,
  dependency_unavailable: 503,
};

/** Network and PostgreSQL connection failures: the dependency is down, not the request wrong. */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
  'ENOSPC',
  'EDQUOT',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
]);

const UNAVAILABLE_NAMES = new Set(['ServiceUnavailable', 'ServiceUnavailableException', 'ThrottlingException', 'SlowDown', 'TimeoutError']);

export const isDependencyFailure = (error: unknown): boolean => {
  if (!(error instanceof Error)) return false;
  const code = String((error as { code?: unknown }).code ?? '');
  if (UNAVAILABLE_CODES.has(code) || code.startsWith('08')) return true;
  if (UNAVAILABLE_NAMES.has(error.name)) return true;
  return DRIVER_LOST_CONNECTION_MESSAGES.test(error.message) || DRIVER_TIMEOUT_MESSAGES.test(error.message);
};

export const formatZodError = (error: z.core.$ZodError, where: string): string =>
  error.issues
    .map((issue) => `${[where, ...issue.path].join('.')}: ${issue.message}`)
    .join('; ')
    .slice(0, 1000);

export const toPublicError = (error: unknown): PublicError => {
  if (isDomainError(error)) {
    const statusCode = STATUS_BY_KIND[error.kind];
    return { statusCode, message: error.message, error: error.detail, serverSide: statusCode >= 500 };
  }
  if (error instanceof ObjectAlreadyExistsError) {
    return { statusCode: 409, message: 'Already exists', error: 'The object already exists', serverSide: false };
  }
  if (isDependencyFailure(error)) {
    return { statusCode: 503, message: 'Service unavailable', error: 'A dependency is unavailable; try again shortly', serverSide: true };
  }
  return { statusCode: 500, message: 'Internal server error', error: 'An unexpected error occurred', serverSide: true };
};
