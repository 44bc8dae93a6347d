/**
 * Domain errors. Core code throws these; the HTTP layer maps each kind to a status.
 * `detail` is what a caller may see: it must never carry SQL, stack traces or server paths.
 */
export type DomainErrorKind =
  | 'invalid_input'
  | 'not_found'
  | 'conflict'
  | 'too_large'
  | 'unsupported_media_type'
  | 'dependency_unavailable';

export class DomainError extends Error {
  constructor(
    readonly kind: DomainErrorKind,
    message: string,
    readonly detail: string = message,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const invalidInput = (message: string, detail?: string) => new DomainError('invalid_input', message, detail);
export const notFound = (message: string, detail?: string) => new DomainError('not_found', message, detail);
export const conflict = (message: string, detail?: string) => new DomainError('conflict', message, detail);
export const tooLarge = (message: string, detail?: string) => new DomainError('too_large', message, detail);
export const unsupportedMediaType = (message: string, detail?: string) =>
  new DomainError('unsupported_media_type', message, detail);
export const dependencyUnavailable = (message: string, detail?: string) =>
  new DomainError('dependency_unavailable', message, detail);

export const isDomainError = (error: unknown): error is DomainError => error instanceof DomainError;
