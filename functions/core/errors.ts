/**
 * Domain errors. Core code throws these, adapters translate their own failures into them, and the HTTP
 * layer maps each kind to a status. `detail` is what a caller may see: never SQL, stack traces or server
 * paths; the original failure travels as `cause`, for the logs.
 */
export type DomainErrorKind =
  | 'invalid_input'
  | 'not_found'
  | 'conflict'
  | 'too_large'
  | 'unsupported_media_type'
  | 'dependency_unavailable';

export class DomainError extends Error {
  /** When a retry may succeed, in seconds (HTTP Retry-After); only for failures that pass with time. */
  retryAfterSeconds?: number;

  constructor(
    readonly kind: DomainErrorKind,
    message: string,
    readonly detail: string = message,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'DomainError';
  }
}

export const invalidInput = (message: string, detail?: string, options?: ErrorOptions) =>
  new DomainError('invalid_input', message, detail, options);
export const notFound = (message: string, detail?: string, options?: ErrorOptions) =>
  new DomainError('not_found', message, detail, options);
export const conflict = (message: string, detail?: string, options?: ErrorOptions) => new DomainError('conflict', message, detail, options);
export const tooLarge = (message: string, detail?: string, options?: ErrorOptions) =>
  new DomainError('too_large', message, detail, options);
export const unsupportedMediaType = (message: string, detail?: string, options?: ErrorOptions) =>
  new DomainError('unsupported_media_type', message, detail, options);
export const dependencyUnavailable = (message: string, detail?: string, options?: ErrorOptions) =>
  new DomainError('dependency_unavailable', message, detail, options);

/** A dependency_unavailable error that says when to try again. */
export const retryLater = (message: string, detail: string, retryAfterSeconds: number): DomainError =>
  Object.assign(dependencyUnavailable(message, detail), { retryAfterSeconds });

/** What an adapter throws when its database, store or service is down or unreachable: the request was not wrong. */
export const unreachableDependency = (cause: unknown) =>
  dependencyUnavailable('Service unavailable', 'A dependency is unavailable; try again shortly', { cause });

export const isDomainError = (error: unknown): error is DomainError => error instanceof DomainError;
