import type { Logger } from '../../functions/core/ports/logger';

/** A logger that drops every line: for tests and benchmarks that do not read the log. */
export const silentLogger: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
