/**
 * The app and reader logins on a real PostgreSQL server that checks passwords (SCRAM, as Aurora does):
 * provisioned as the migrator provisions them, each connected with its own password, doing what the
 * functions do and refused what they never do.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations } from '../../db/migrations';
import { DirectoryObjectStore } from '../../functions/adapters/object-store/directory';
import { openPgSql } from '../../functions/adapters/sql/pg';
import { recordCodeHistory } from '../../functions/core/code-history';
import { type DatabaseLogins, provisionLogins, scramVerifier } from '../../functions/core/database-logins';
import { recordExecutionResult } from '../../functions/core/execution-results';
import { migrate } from '../../functions/core/migrations';
import { systemClock } from '../../functions/core/ports/clock';
import type { Sql } from '../../functions/core/ports/sql';
import { createSession, getSession } from '../../functions/core/sessions';
import { takeSnapshot } from '../../functions/core/snapshots/take-snapshot';
import { searchTranscripts } from '../../functions/core/transcripts/search';
import { logger } from '../../functions/logger';
import { type PostgresServer, startPostgresServer } from '../support/postgres-server';

const DATABASE = 'logins_test';
const logins: DatabaseLogins = {
  app: { username: 'interview_ops_app', password: 'appPassword0123456789abcdefghij' },
  reader: { username: 'interview_ops_reader', password: 'readerPassword0123456789abcdef' },
};

let server: PostgresServer;
let owner: Sql;
let app: Sql;
let reader: Sql;
let dataDir: string;
const opened: Sql[] = [];

const connect = async (username: string, password: string): Promise<Sql> => {
  const sql = await openPgSql(`postgres://${username}:${encodeURIComponent(password)}@127.0.0.1:${server.port}/${DATABASE}`);
  opened.push(sql);
  return sql;
};

beforeAll(async () => {
  server = await startPostgresServer({ passwordLogins: true });
  await server.command('psql', ['-d', 'postgres', '-c', `CREATE DATABASE ${DATABASE}`]);
  owner = await openPgSql(server.url.replace(/\/postgres$/, `/${DATABASE}`));
  opened.push(owner);
  await migrate(owner, loadMigrations());
  await provisionLogins(owner, logins);
  app = await connect(logins.app.username, logins.app.password);
  reader = await connect(logins.reader.username, logins.reader.password);
  dataDir = await mkdtemp(join(tmpdir(), 'logins-store-'));
}, 60_000);

afterAll(async () => {
  for (const sql of opened) await sql.close().catch(() => undefined);
  await server?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const refusal = (work: Promise<unknown>) => expect(work).rejects.toThrow(/permission denied|must be owner|read-only transaction/);

describe('database logins', () => {
  it('connect only with their own password', async () => {
    await expect(connect(logins.app.username, 'wrongPassword0123456789').then((sql) => sql.query('SELECT 1'))).rejects.toThrow(
      /password authentication failed/,
    );
    expect(await reader.query('SELECT current_user AS name')).toEqual([{ name: 'interview_ops_reader' }]);
  });

  it('let the app login run what the write functions run', async () => {
    const session = await createSession({ sql: app }, { session_id: 'logins-app' });
    const code = await recordCodeHistory({ sql: app }, session.session_id, { code: 'print(1)', language: 'python' });
    await recordExecutionResult({ sql: app }, session.session_id, {
      code_history_id: code.id,
      stdout: '1',
      stderr: '',
      exit_code: 0,
    });
    const [chunk] = await app.query<{ chunk_id: string }>(
      `INSERT INTO audio_chunks (session_id, content_type, audio_key, size_bytes, sample_rate, channels, duration)
       VALUES ('logins-app', 'audio/wav', 'audio/logins-app/1.wav', 10, 16000, 1, 1.5) RETURNING chunk_id`,
    );
    await app.query(`UPDATE audio_chunks SET transcript_status = 'done', transcript_text = 'hello world' WHERE chunk_id = :id`, {
      id: chunk!.chunk_id,
    });
    expect(await app.query('DELETE FROM audio_chunks WHERE chunk_id = :id RETURNING chunk_id', { id: chunk!.chunk_id })).toHaveLength(1);
  });

  it('let the reader login run what the read functions run, and the app login take a snapshot (it prunes the change log)', async () => {
    expect((await getSession({ sql: reader }, 'logins-app')).session_id).toBe('logins-app');
    await searchTranscripts({ sql: reader }, { q: 'hello', limit: 5 });
    const store = await new DirectoryObjectStore(dataDir).open();
    const outcome = await takeSnapshot(
      { sql: app, store, logger, clock: systemClock },
      { instant: new Date('2026-01-01T00:00:00Z'), exclusive: true },
    );
    expect(outcome).toMatchObject({ status: 'taken', metadata: { total_sessions: 1, total_code_entries: 1, total_executions: 1 } });
  });

  it('refuse the reader every write', async () => {
    await refusal(createSession({ sql: reader }, { session_id: 'logins-reader' }));
    await refusal(reader.query(`UPDATE sessions SET metadata = '{}'::jsonb`));
    await refusal(reader.query('DELETE FROM execution_results'));
    // Even inside a transaction that does not ask to be read-only.
    await refusal(reader.transaction((tx) => tx.query(`INSERT INTO sessions (session_id) VALUES ('logins-reader-tx')`)));
  });

  it('refuse the app login DDL, drops, truncation and the migration ledger', async () => {
    await refusal(app.query('CREATE TABLE intruder (id int)'));
    await refusal(app.query('DROP TABLE execution_results'));
    await refusal(app.query('ALTER TABLE sessions ADD COLUMN intruder text'));
    await refusal(app.query('TRUNCATE sessions CASCADE'));
    await refusal(app.query('CREATE INDEX intruder_idx ON sessions (created_at)'));
    await refusal(app.query(`INSERT INTO schema_migrations (version, name) VALUES (999, 'intruder')`));
    await refusal(app.query('CREATE ROLE intruder LOGIN'));
  });

  it('grant what a later migration adds once the migrator runs again, and take new passwords', async () => {
    await migrate(owner, [
      { version: 900, name: '900_later_table', sql: 'CREATE TABLE later_table (id bigint GENERATED ALWAYS AS IDENTITY, note text)' },
    ]);
    await refusal(app.query(`INSERT INTO later_table (note) VALUES ('before')`));
    const rotated: DatabaseLogins = { ...logins, app: { ...logins.app, password: 'rotatedPassword0123456789abcd' } };
    await provisionLogins(owner, rotated);
    const rotatedApp = await connect(rotated.app.username, rotated.app.password);
    await rotatedApp.query(`INSERT INTO later_table (note) VALUES ('after')`);
    expect(await reader.query('SELECT note FROM later_table')).toEqual([{ note: 'after' }]);
    await refusal(reader.query(`INSERT INTO later_table (note) VALUES ('reader')`));
  });

  it('send passwords as SCRAM verifiers, never as clear text', () => {
    const verifier = scramVerifier(logins.app.password, Buffer.alloc(16, 1));
    expect(verifier).toMatch(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
    expect(verifier).not.toContain(logins.app.password);
    expect(() => scramVerifier("short'pw")).toThrow(/printable ASCII/);
  });
});
