/**
 * A throwaway PostgreSQL 15 server (Debian's binaries) in a temp directory on a loopback port: initdb,
 * pg_ctl start, and a connection URL; stop() removes everything. PostgreSQL refuses to run as root, so
 * as root it runs as the `postgres` user.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const POSTGRES_BIN = '/usr/lib/postgresql/15/bin';

export interface PostgresServer {
  url: string;
  port: number;
  /** Runs a Debian PostgreSQL client tool (psql, ...) as the server's user. */
  command(tool: string, args: readonly string[]): Promise<{ stdout: string; stderr: string }>;
  /** The same, streaming: stdout is a pipe. */
  spawn(tool: string, args: readonly string[]): ChildProcess;
  stop(): Promise<void>;
}

const freePort = () =>
  new Promise<number>((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });

const numericIds = async (user: string) => {
  const [{ stdout: uid }, { stdout: gid }] = await Promise.all([run('id', ['-u', user]), run('id', ['-g', user])]);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
};

export interface PostgresServerOptions {
  settings?: Record<string, string>;
  /**
   * TCP logins other than the server's own user must give their password (SCRAM-SHA-256), as on Aurora;
   * the server's user (and the socket) stays trusted. Off: every login is trusted.
   */
  passwordLogins?: boolean;
}

const writeHba = async (path: string, text: string, owner?: { uid: number; gid: number }) => {
  await writeFile(path, text, { mode: 0o600 });
  if (owner) await chown(path, owner.uid, owner.gid);
};

export const startPostgresServer = async (options: PostgresServerOptions = {}): Promise<PostgresServer> => {
  const asRoot = process.getuid?.() === 0;
  const user = asRoot ? 'postgres' : userInfo().username;
  const root = await mkdtemp(join(tmpdir(), 'interview-ops-pg-'));
  const dataDir = join(root, 'data');
  if (asRoot) {
    const { uid, gid } = await numericIds(user);
    await chown(root, uid, gid);
    await chmod(root, 0o700);
  }
  const as = (tool: string, args: readonly string[]) =>
    asRoot
      ? run('runuser', ['-u', user, '--', tool, ...args], { maxBuffer: 64 * 1024 * 1024 })
      : run(tool, [...args], { maxBuffer: 64 * 1024 * 1024 });
  const port = await freePort();
  await as(join(POSTGRES_BIN, 'initdb'), ['-D', dataDir, '-U', user, '-A', 'trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync']);
  if (options.passwordLogins) {
    const hba = ['local all all trust', `host all ${user} 127.0.0.1/32 trust`, 'host all all 127.0.0.1/32 scram-sha-256', ''].join('\n');
    await writeHba(join(dataDir, 'pg_hba.conf'), hba, asRoot ? await numericIds(user) : undefined);
  }
  const serverOptions = [
    `-p ${port}`,
    `-k ${root}`,
    `-c listen_addresses=127.0.0.1`,
    `-c fsync=off`,
    ...Object.entries(options.settings ?? {}).map(([name, value]) => `-c ${name}=${value}`),
  ].join(' ');
  await as(join(POSTGRES_BIN, 'pg_ctl'), ['-D', dataDir, '-o', serverOptions, '-l', join(root, 'server.log'), '-w', 'start']);
  const connection = ['-h', '127.0.0.1', '-p', String(port), '-U', user];
  let stopped = false;
  return {
    url: `postgres://${encodeURIComponent(user)}@127.0.0.1:${port}/postgres`,
    port,
    command: (tool, args) => as(join(POSTGRES_BIN, tool), [...connection, ...args]),
    spawn: (tool, args) => {
      const argv = [join(POSTGRES_BIN, tool), ...connection, ...args];
      return asRoot
        ? spawn('runuser', ['-u', user, '--', ...argv], { stdio: ['ignore', 'pipe', 'inherit'] })
        : spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await as(join(POSTGRES_BIN, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
      await rm(root, { recursive: true, force: true });
    },
  };
};
