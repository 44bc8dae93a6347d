/** How node-postgres and PGlite fail when the database, not the statement, is the trouble. */
import { errorCodeOf, failureTranslator, NETWORK_ERROR_CODES } from '../unreachable';

/** node-postgres giving up on a connection or a statement that took too long. */
export const DRIVER_TIMEOUT_MESSAGES =
  /timeout exceeded when trying to connect|Connection terminated due to connection timeout|Query read timeout/i;
/** node-postgres or PGlite with the connection gone. */
const DRIVER_LOST_CONNECTION_MESSAGES = /Connection terminated|PGlite is closed|Client has encountered a connection error/i;

const UNAVAILABLE_CODES = new Set([
  ...NETWORK_ERROR_CODES,
  'ENOSPC',
  'EDQUOT',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
]);

export const isDatabaseUnreachable = (error: Error): boolean => {
  const code = errorCodeOf(error);
  // SQLSTATE class 08: connection exceptions.
  if (UNAVAILABLE_CODES.has(code) || code.startsWith('08')) return true;
  return DRIVER_LOST_CONNECTION_MESSAGES.test(error.message) || DRIVER_TIMEOUT_MESSAGES.test(error.message);
};

export const translatePostgresFailure = failureTranslator(isDatabaseUnreachable);
