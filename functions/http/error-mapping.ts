/**
 * Turns any thrown value into a status and a message safe to show. Adapters have already translated
 * their failures into core errors; only a core error's detail and request-validation messages reach
 * callers, and anything else is our fault: logged and answered 500.
 */

import { type DomainErrorKind, isDomainError } from '../core/errors';
import type * as z from '../validation';

export interface PublicError {
  statusCode: number;
  message: string;
  error: string;
  /** Whether the failure is ours (logged as an error) rather than the caller's. */
  serverSide: boolean;
  /** Sent as Retry-After. */
  retryAfterSeconds?: number;
}

const STATUS_BY_KIND: Record<DomainErrorKind, number> = {
  invalid_input: 400,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  unsupported_media_type: 415,
  dependency_unavailable: 503,
};

export const formatZodError = (error: z.core.$ZodError, where: string): string =>
  error.issues
    .map((issue) => `${[where, ...issue.path].join('.')}: ${issue.message}`)
    .join('; ')
    .slice(0, 1000);

export const toPublicError = (error: unknown): PublicError => {
  if (isDomainError(error)) {
    const statusCode = STATUS_BY_KIND[error.kind];
    return {
      statusCode,
      message: error.message,
      error: error.detail,
      serverSide: statusCode >= 500,
      ...(error.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: error.retryAfterSeconds }),
    };
  }
  return { statusCode: 500, message: 'Internal server error', error: 'An unexpected error occurred', serverSide: true };
};
