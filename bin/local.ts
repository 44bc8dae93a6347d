/** `npm start`: the service on this machine with embedded defaults (see README "Settings"). */
import { startLocalStack } from '../functions/local/stack';
import { logger } from '../functions/logger';
import { readSettings } from '../functions/settings';

const stack = await startLocalStack(readSettings());

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  logger.info('Stopping', { signal });
  stack.close().then(
    () => process.exit(0),
    (error: unknown) => {
      logger.error('Unclean stop', { error });
      process.exit(1);
    },
  );
};
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
