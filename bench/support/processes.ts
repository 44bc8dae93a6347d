/** Child processes for benchmarks: the local stack as `npm start` runs it, and the bare server to compare with. */
import { resolve } from 'node:path';
import { removeDataDir, spawnLoggingProcess, startStackProcess } from '../../test/support/local-stack-process';

export const ROOT = resolve(import.meta.dirname, '../..');

/** The local stack in its own process and data directory; INFO logs only the start line and refusals. */
export const startLocalStackProcess = async () => {
  const stack = await startStackProcess();
  return {
    url: stack.url,
    async stop() {
      await stack.stop();
      await removeDataDir(stack.dataDir);
    },
  };
};

/** bench/support/bare-server.ts in its own process, answering `bodies` (path → body) from memory. */
export const startBareServer = (bodies: Record<string, string>) =>
  spawnLoggingProcess(['--import', 'tsx', 'bench/support/bare-server.ts'], { BARE_BODIES: JSON.stringify(bodies) }, 'bare server listening');
