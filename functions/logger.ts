import { Logger } from '@aws-lambda-powertools/logger';
import { readSettings } from './settings';

/** One JSON-lines logger for handlers, adapters and the local runtime. */
export const logger = new Logger({ serviceName: 'interview-ops', logLevel: readSettings().LOG_LEVEL });
