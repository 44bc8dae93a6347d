/** How an AWS SDK call fails when the service, not the request, is the trouble: a throttle, an outage, a network failure. */
import { errorCodeOf, failureTranslator, NETWORK_ERROR_CODES } from './unreachable';

// DatabaseResumingException: an Aurora cluster paused at 0 ACU is waking; the call succeeds once it has.
const UNAVAILABLE_NAMES = new Set([
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'ThrottlingException',
  'SlowDown',
  'TimeoutError',
  'DatabaseResumingException',
  'DatabaseUnavailableException',
]);

export const isAwsServiceUnreachable = (error: Error): boolean =>
  UNAVAILABLE_NAMES.has(error.name) || NETWORK_ERROR_CODES.has(errorCodeOf(error));

export const translateAwsFailure = failureTranslator(isAwsServiceUnreachable);
