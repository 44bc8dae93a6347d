/**
 * The deploy-time migration handler, run as the Trigger runs it, on a fresh database: it applies every
 * file of db/migrations, reports them, and applies nothing the second time; then it fills the search text
 * of chunks transcribed before migration 006 from their stored objects, within the time the Trigger gives it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations } from '../../db/migrations';
import { dependencies } from '../../functions/config';
import { handler } from '../../functions/handlers/migrate-database';

describe('migrate-database handler', () => {
  let dataDir: string;
  const saved = { ...process.env };

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'migrate-handler-'));
    // As on Lambda: nothing migrates while dependencies are built, only the handler does.
    Object.assign(process.env, { DATA_DIR: dataDir, RUN_MIGRATIONS_AT_START: 'false', TRANSCRIBER: 'aws-transcribe', LOG_LEVEL: 'SILENT' });
  });

  afterAll(async () => {
    await (await dependencies()).sql.close();
    process.env = saved;
    await rm(dataDir, { recursive: true, force: true });
  });

  it('applies every migration once, then none', async () => {
    const expected = loadMigrations().map((migration) => migration.name);
    expect(expected.length).toBeGreaterThan(0);
    const nothingToFill = { filled: 0, missing: 0, complete: true };
    expect(await handler()).toEqual({ applied: expected, backfill: nothingToFill });
    expect(await handler()).toEqual({ applied: [], backfill: nothingToFill });
    const { sql } = await dependencies();
    const recorded = await sql.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY version');
    expect(recorded.map((row) => row.name)).toEqual(expected);
    const [sessions] = await sql.query<{ table: string | null }>(`SELECT to_regclass('public.sessions')::text AS table`);
    expect(sessions!.table).toBe('sessions');
  });

  it('makes a chunk transcribed before search existed searchable, within the time the invocation has', async () => {
    const { sql, store } = await dependencies();
    await sql.query(`INSERT INTO sessions (session_id) VALUES ('legacy')`);
    const [row] = await sql.query<{ chunk_id: string }>(
      `INSERT INTO audio_chunks (session_id, content_type, audio_key, size_bytes, sample_rate, channels, duration, transcript_status)
       VALUES ('legacy', 'audio/wav', 'audio/legacy/1.wav', 100, 16000, 1, 1, 'done') RETURNING chunk_id::text AS chunk_id`,
    );
    await store.put(`transcripts/legacy/legacy_${row!.chunk_id}.txt`, 'seven of hearts');
    // A context with no time left beyond the margin: nothing is read, and the deploy still succeeds.
    expect(await handler(undefined, { getRemainingTimeInMillis: () => 1000 })).toMatchObject({ backfill: { filled: 0, complete: false } });
    expect(await handler(undefined, { getRemainingTimeInMillis: () => 300_000 })).toEqual({
      applied: [],
      backfill: { filled: 1, missing: 0, complete: true },
    });
    const [found] = await sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM audio_chunks WHERE transcript_tsv @@ websearch_to_tsquery('english', 'hearts')`,
    );
    expect(found!.n).toBe(1);
  });
});
