/** The slice of a structured logger that core code uses; the Powertools Logger satisfies it. */
export type LogAttributes = Record<string, unknown>;

export interface Logger {
  debug(message: string, ...attributes: LogAttributes[]): void;
  info(message: string, ...attributes: LogAttributes[]): void;
  warn(message: string, ...attributes: LogAttributes[]): void;
  error(message: string, ...attributes: LogAttributes[]): void;
}
