/**
 * Making chunks transcribed before migration 006 searchable, on PGlite with the migrations and the
 * directory store: rows as an old deploy left them (done, no transcript_text) and their transcript objects.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations } from '../../../db/migrations';
import { DirectoryObjectStore } from '../../../functions/adapters/object-store/directory';
import { openPgliteSql } from '../../../functions/adapters/sql/pglite';
import { migrate } from '../../../functions/core/migrations';
import type { Sql } from '../../../functions/core/ports/sql';
import { createSession } from '../../../functions/core/sessions';
import { backfillSearchText } from '../../../functions/core/transcripts/backfill-search-text';
import { searchTranscripts } from '../../../functions/core/transcripts/search';
import { countingObjectStore } from '../../support/counting-object-store';

let root: string;
let sql: Sql;
let store: DirectoryObjectStore;
const ids: Record<string, string> = {};

const insertChunk = async (name: string, status: 'done' | 'pending', text: string | null) => {
  const [row] = await sql.query<{ chunk_id: string }>(
    `INSERT INTO audio_chunks (session_id, content_type, audio_key, size_bytes, sample_rate, channels, duration, transcript_status, transcript_text)
     VALUES ('legacy', 'audio/wav', 'audio/legacy/x.wav', 100, 16000, 1, 1, :status, :text) RETURNING chunk_id::text AS chunk_id`,
    { status, text },
  );
  ids[name] = row!.chunk_id;
  return row!.chunk_id;
};

const put = (chunkId: string, text: string) => store.put(`transcripts/legacy/legacy_${chunkId}.txt`, text);

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'interview-ops-backfill-'));
  sql = await openPgliteSql();
  await migrate(sql, loadMigrations());
  store = await new DirectoryObjectStore(root).open();
  await createSession({ sql }, { session_id: 'legacy' });
  await put(await insertChunk('ten', 'done', null), 'ten of clubs');
  await put(await insertChunk('five', 'done', null), 'five five');
  await insertChunk('gone', 'done', null);
  await put(await insertChunk('eight', 'done', null), 'eight of spades four of clubs');
  // Already indexed by its own transcription: the object says something else, and must not win.
  await put(await insertChunk('indexed', 'done', 'seven of hearts'), 'queen of hearts');
  // Not transcribed: a stray object does not make it searchable.
  await put(await insertChunk('waiting', 'pending', null), 'ace of clubs');
});

afterAll(async () => {
  await sql?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

const chunksFound = async (q: string) => (await searchTranscripts({ sql }, { q, limit: 10 })).results.map((r) => r.chunk_id).sort();

describe('backfillSearchText', () => {
  it('does nothing once the deadline has passed', async () => {
    expect(await backfillSearchText({ sql, store }, { deadline: Date.now() - 1 })).toEqual({ filled: 0, missing: 0, complete: false });
  });

  it('fills the text of done chunks from their objects in bounded batches, skipping a gone object', async () => {
    expect(await chunksFound('clubs')).toEqual([]);
    const counted = countingObjectStore(store);
    const outcome = await backfillSearchText({ sql, store: counted }, { deadline: Date.now() + 60_000, batchSize: 2 });
    expect(outcome).toEqual({ filled: 3, missing: 1, complete: true });
    expect(counted.counts.get).toBe(4);
    expect(await chunksFound('clubs')).toEqual([ids.ten!, ids.eight!].sort());
    expect(await chunksFound('five')).toEqual([ids.five]);
    expect(await chunksFound('hearts')).toEqual([ids.indexed]);
    expect(await chunksFound('queen')).toEqual([]);
    expect(await chunksFound('ace')).toEqual([]);
  });

  it('is idempotent: a second run fills nothing and reads only what is still missing', async () => {
    const counted = countingObjectStore(store);
    expect(await backfillSearchText({ sql, store: counted }, { deadline: Date.now() + 60_000 })).toEqual({
      filled: 0,
      missing: 1,
      complete: true,
    });
    expect(counted.counts.get).toBe(1);
  });

  it('stops between batches at the deadline, and the next run resumes', async () => {
    await sql.query(`UPDATE audio_chunks SET transcript_text = NULL WHERE session_id = 'legacy' AND transcript_text <> 'seven of hearts'`);
    let calls = 0;
    // The clock passes the deadline after the first batch.
    const first = await backfillSearchText({ sql, store }, { deadline: 1, batchSize: 2, now: () => (calls++ === 0 ? 0 : 2) });
    expect(first).toEqual({ filled: 2, missing: 0, complete: false });
    const rest = await backfillSearchText({ sql, store }, { deadline: Date.now() + 60_000, batchSize: 2 });
    expect(rest).toEqual({ filled: 1, missing: 1, complete: true });
    expect(await chunksFound('clubs')).toEqual([ids.ten!, ids.eight!].sort());
  });
});
