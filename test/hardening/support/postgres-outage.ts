/**
 * Takes a throwaway PostgreSQL server (test/support/postgres-server.ts) away and brings it back on the
 * same port with the same data, as an outage or a crash would: pg_ctl stop, then pg_ctl start with the
 * options the server was started with (PostgreSQL records them in postmaster.opts).
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { POSTGRES_BIN, type PostgresServer } from '../../support/postgres-server';

const run = promisify(execFile);

export interface PostgresOutage {
  /** `fast` ends sessions with admin_shutdown (57P01); `immediate` is a crash. */
  stop(mode: 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
}

export const postgresOutage = async (server: PostgresServer): Promise<PostgresOutage> => {
  const dataDir = (await server.command('psql', ['-Atc', 'SHOW data_directory', 'postgres'])).stdout.trim();
  // postgres "-D" "<dir>" "-p" "<port>" ...: everything after the data directory is what start needs again.
  const recorded = [...(await readFile(join(dataDir, 'postmaster.opts'), 'utf8')).matchAll(/"([^"]*)"/g)].map((match) => match[1]!);
  const options = recorded.slice(recorded.indexOf('-D') + 2).join(' ');
  const asServerUser = (args: string[]) =>
    process.getuid?.() === 0
      ? run('runuser', ['-u', 'postgres', '--', join(POSTGRES_BIN, 'pg_ctl'), ...args])
      : run(join(POSTGRES_BIN, 'pg_ctl'), args);
  return {
    stop: async (mode) => {
      await asServerUser(['-D', dataDir, '-m', mode, '-w', 'stop']);
    },
    start: async () => {
      await asServerUser(['-D', dataDir, '-o', options, '-l', join(dataDir, '..', 'server.log'), '-w', 'start']);
    },
  };
};
