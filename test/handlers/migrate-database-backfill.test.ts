/**
 * After migrating, the deploy-time handler makes chunks transcribed before migration 006 searchable from
 * their stored transcript objects, within the time its invocation has left, and never fails for it.
 * Run as on Lambda (nothing migrates while dependencies are built), on PGlite and the directory store.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dependencies } from '../../functions/config';
import { handler } from '../../functions/handlers/migrate-database';
import { localLambdaContext } from '../../functions/local/lambda-context';

describe('migrate-database handler, search text backfill', () => {
  let dataDir: string;
  const saved = { ...process.env };

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'migrate-backfill-'));
    Object.assign(process.env, { DATA_DIR: dataDir, RUN_MIGRATIONS_AT_START: 'false', TRANSCRIBER: 'aws-transcribe', LOG_LEVEL: 'SILENT' });
  });

  afterAll(async () => {
    await (await dependencies()).sql.close();
    process.env = saved;
    await rm(dataDir, { recursive: true, force: true });
  });

  const searchable = async (word: string) => {
    const { sql } = await dependencies();
    const [found] = await sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM audio_chunks WHERE transcript_tsv @@ websearch_to_tsquery('english', :word)`,
      { word },
    );
    return found!.n;
  };

  it('fills the text of an old done chunk from its object, once the invocation has time for it', async () => {
    await handler(undefined, localLambdaContext('migrate-database', 300_000));
    const { sql, store } = await dependencies();
    await sql.query(`INSERT INTO sessions (session_id) VALUES ('legacy')`);
    const [row] = await sql.query<{ chunk_id: string }>(
      `INSERT INTO audio_chunks (session_id, content_type, audio_key, size_bytes, sample_rate, channels, duration, transcript_status)
       VALUES ('legacy', 'audio/wav', 'audio/legacy/1.wav', 100, 16000, 1, 1, 'done') RETURNING chunk_id::text AS chunk_id`,
    );
    await store.put(`transcripts/legacy/legacy_${row!.chunk_id}.txt`, 'seven of hearts');
    // No time left beyond the margin: nothing is read, and the migration still succeeds.
    expect(await handler(undefined, localLambdaContext('migrate-database', 1000))).toEqual({ applied: [], logins: [] });
    expect(await searchable('hearts')).toBe(0);
    expect(await handler(undefined, localLambdaContext('migrate-database', 300_000))).toEqual({ applied: [], logins: [] });
    expect(await searchable('hearts')).toBe(1);
  });
});
