/**
 * Erasure, legal holds and the retention sweep in core, on real parts: PGlite (in memory) and the
 * directory store. Every kind of per-session data is written, then checked gone (or kept) after each step.
 */
import { mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations } from '../../../db/migrations';
import { DirectoryObjectStore } from '../../../functions/adapters/object-store/directory';
import { openPgliteSql } from '../../../functions/adapters/sql/pglite';
import type { RetentionSettings } from '../../../functions/core/dependencies';
import type { DomainError } from '../../../functions/core/errors';
import {
  audioKeyFor,
  SESSION_OBJECT_KINDS,
  sessionObjectKinds,
  sessionObjectPrefixFor,
  trackHeaderKeyFor,
  transcribeOutputKeyFor,
  transcriptKeyFor,
} from '../../../functions/core/keys';
import { runRetentionSweep } from '../../../functions/core/lifecycle/retention-sweep';
import { eraseSession } from '../../../functions/core/lifecycle/session-erasure';
import { placeHold, releaseHold } from '../../../functions/core/lifecycle/session-holds';
import { migrate } from '../../../functions/core/migrations';
import type { Logger } from '../../../functions/core/ports/logger';
import { listAll, type ObjectStore } from '../../../functions/core/ports/object-store';
import type { Sql } from '../../../functions/core/ports/sql';
import { createSession } from '../../../functions/core/sessions';
import { transcriptDetailsKeyFor } from '../../../functions/core/transcripts/transcript-objects';

let root: string;
let sql: Sql;
let store: DirectoryObjectStore;
const logged: { message: string; attributes: Record<string, unknown> }[] = [];
const logger: Logger = {
  debug() {},
  info: (message, ...attributes) => logged.push({ message, attributes: Object.assign({}, ...attributes) }),
  warn() {},
  error() {},
};
const DAY = 86_400_000;

const sweepDeps = (retention: Omit<RetentionSettings, 'objectsExpiredBy'>, objectStore: ObjectStore = store) => ({
  sql,
  store: objectStore,
  logger,
  retention: { ...retention, objectsExpiredBy: 'sweep' as const },
});
const deps = () => sweepDeps({});

/** A session with two transcribed chunks (audio, text, details, search text), code and a result. */
const seedSession = async (sessionId: string) => {
  await createSession({ sql }, { session_id: sessionId, candidate: 'Ada' });
  for (const words of ['binary search tree', 'hash map lookup']) {
    const [chunk] = await sql.query<{ chunk_id: string }>(
      `INSERT INTO audio_chunks (session_id, content_type, audio_key, size_bytes, sample_rate, channels, duration,
         transcript_status, transcript_text, transcript_updated_at)
       VALUES (:session_id, 'audio/wav', 'pending', 44, 16000, 1, 1, 'done', :words, now()) RETURNING chunk_id`,
      { session_id: sessionId, words },
    );
    const chunkId = String(chunk!.chunk_id);
    await store.put(audioKeyFor(sessionId, chunkId, 'wav'), new Uint8Array(44));
    await store.put(transcriptKeyFor(sessionId, chunkId), words);
    await store.put(transcriptDetailsKeyFor(sessionId, chunkId), JSON.stringify({ transcript: words }));
  }
  // A recorder's track header, kept for its later timeslice blobs.
  await store.put(trackHeaderKeyFor(sessionId, 'candidate', 'webm'), new Uint8Array(8));
  // A batch transcription job's output.
  await store.put(transcribeOutputKeyFor(sessionId, 'interview-ops-chunk-1-1'), '{}');
  const [code] = await sql.query<{ id: string }>(
    "INSERT INTO code_history (session_id, code, language) VALUES (:session_id, 'print(1)', 'python') RETURNING id",
    { session_id: sessionId },
  );
  await sql.query(
    "INSERT INTO execution_results (session_id, code_history_id, stdout, exit_code) VALUES (:session_id, CAST(:code AS bigint), '1', 0)",
    {
      session_id: sessionId,
      code: String(code!.id),
    },
  );
};

const keysOf = async (sessionId: string) => {
  const keys: string[] = [];
  for (const kind of sessionObjectKinds)
    for await (const object of listAll(store, sessionObjectPrefixFor(kind, sessionId))) keys.push(object.key);
  return keys;
};

const rowCounts = async (sessionId: string) => {
  const counts: Record<string, number> = {};
  for (const table of ['sessions', 'audio_chunks', 'code_history', 'execution_results', 'session_holds', 'session_erasures']) {
    const [row] = await sql.query<{ n: string }>(`SELECT count(*) AS n FROM ${table} WHERE session_id = :id`, { id: sessionId });
    counts[table] = Number(row!.n);
  }
  return counts;
};

const searchHits = async (word: string) =>
  (
    await sql.query<{ session_id: string }>(
      "SELECT session_id FROM audio_chunks WHERE transcript_tsv @@ plainto_tsquery('english', :word) ORDER BY session_id",
      { word },
    )
  ).map((row) => row.session_id);

const refusal = async (promise: Promise<unknown>) => {
  const error = (await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  )) as DomainError | undefined;
  expect(error, 'expected a refusal').toBeDefined();
  return error!;
};

/** Makes every object of a session look `days` old, as the store reports lastModified. */
const age = async (sessionId: string, days: number) => {
  const then = new Date(Date.now() - days * DAY);
  for (const key of await keysOf(sessionId)) utimesSync(join(root, key), then, then);
};

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'interview-ops-lifecycle-'));
  sql = await openPgliteSql();
  await migrate(sql, loadMigrations());
  store = await new DirectoryObjectStore(root).open();
}, 60_000);

afterAll(async () => {
  await sql?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('eraseSession', () => {
  it('removes every row, object and search entry of the session and answers the counts', async () => {
    await seedSession('erase-me');
    await seedSession('keep-me');
    expect(await searchHits('binary')).toEqual(['erase-me', 'keep-me']);

    const report = await eraseSession(deps(), 'erase-me');

    expect(report).toEqual({
      session_id: 'erase-me',
      rows: { execution_results: 1, code_history: 1, audio_chunks: 2, session_holds: 0, session_erasures: 1, sessions: 1 },
      search_index_entries: 2,
      objects: { audio: 2, transcripts: 2, transcript_details: 2, audio_track_headers: 1, transcribe_output: 1 },
      keys_deleted: 8,
    });
    expect(await rowCounts('erase-me')).toEqual({
      sessions: 0,
      audio_chunks: 0,
      code_history: 0,
      execution_results: 0,
      session_holds: 0,
      session_erasures: 0,
    });
    expect(await keysOf('erase-me')).toEqual([]);
    expect(await searchHits('binary')).toEqual(['keep-me']);
    // The audit trail: what was removed, in the log.
    expect(logged).toContainEqual({ message: 'Session erased', attributes: report });
    // The other session is untouched.
    expect((await keysOf('keep-me')).length).toBe(8);
    expect((await rowCounts('keep-me')).audio_chunks).toBe(2);
    await eraseSession(deps(), 'keep-me');
  });

  it('covers every per-session object kind that keys.ts registers', async () => {
    await seedSession('all-kinds');
    const kinds = new Set(
      (await keysOf('all-kinds')).map((key) => sessionObjectKinds.find((kind) => key.startsWith(SESSION_OBJECT_KINDS[kind].prefix))),
    );
    expect([...kinds].sort()).toEqual([...sessionObjectKinds].sort());
    const report = await eraseSession(deps(), 'all-kinds');
    for (const kind of sessionObjectKinds) expect(report.objects[kind]).toBeGreaterThan(0);
  });

  it('answers not_found for an unknown session, and for one already erased', async () => {
    expect((await refusal(eraseSession(deps(), 'never-was'))).kind).toBe('not_found');
    await seedSession('twice');
    await eraseSession(deps(), 'twice');
    expect((await refusal(eraseSession(deps(), 'twice'))).kind).toBe('not_found');
  });

  it('finishes on retry after failing midway, and refuses a hold meanwhile', async () => {
    await seedSession('crashy');
    let deletes = 0;
    // The store fails on the second delete request: audio is gone, transcripts and rows are not.
    const failing: ObjectStore = Object.assign(Object.create(store) as DirectoryObjectStore, {
      delete: async (keys: readonly string[]) => {
        deletes += 1;
        if (deletes === 2) throw new Error('store down');
        return store.delete(keys);
      },
    });
    await expect(eraseSession({ sql, store: failing, logger }, 'crashy')).rejects.toThrow('store down');
    expect((await keysOf('crashy')).some((key) => key.startsWith('audio/'))).toBe(false);
    expect((await rowCounts('crashy')).session_erasures).toBe(1);
    expect((await refusal(placeHold(deps(), 'crashy', 'dispute'))).kind).toBe('conflict');

    const report = await eraseSession(deps(), 'crashy');
    expect(report.objects).toEqual({ audio: 0, transcripts: 2, transcript_details: 2, audio_track_headers: 1, transcribe_output: 1 });
    expect(report.rows.sessions).toBe(1);
    expect(await keysOf('crashy')).toEqual([]);
    expect((await rowCounts('crashy')).sessions).toBe(0);
  });
});

describe('legal hold', () => {
  it('refuses erasure while held, and allows it once released', async () => {
    await seedSession('held');
    const hold = await placeHold(deps(), 'held', 'Dispute #42');
    expect(hold).toMatchObject({ session_id: 'held', held: true, reason: 'Dispute #42' });
    expect(hold.placed_at).toMatch(/Z$/);

    const refused = await refusal(eraseSession(deps(), 'held'));
    expect(refused.kind).toBe('conflict');
    expect(refused.detail).toContain('legal hold');
    expect((await keysOf('held')).length).toBe(8);
    expect((await rowCounts('held')).session_erasures).toBe(0);

    // Placing it again updates the reason and keeps when it was placed.
    const again = await placeHold(deps(), 'held', 'Dispute #43');
    expect(again).toEqual({ ...hold, reason: 'Dispute #43' });

    expect(await releaseHold(deps(), 'held')).toEqual({
      session_id: 'held',
      held: false,
      released: { reason: 'Dispute #43', placed_at: hold.placed_at },
    });
    expect(await releaseHold(deps(), 'held')).toEqual({ session_id: 'held', held: false, released: null });
    expect((await eraseSession(deps(), 'held')).keys_deleted).toBe(8);
  });

  it('answers not_found for an unknown session', async () => {
    expect((await refusal(placeHold(deps(), 'nobody', 'x'))).kind).toBe('not_found');
    expect((await refusal(releaseHold(deps(), 'nobody'))).kind).toBe('not_found');
  });

  it('re-tags the session objects where a bucket lifecycle rule expires them', async () => {
    await seedSession('tagged');
    const tags = new Map<string, string>();
    const tagging: ObjectStore = Object.assign(Object.create(store) as DirectoryObjectStore, {
      setTags: async (key: string, value: Record<string, string>) => {
        tags.set(key, value.retention!);
      },
    });
    const lifecycleDeps = { sql, store: tagging, logger, retention: { objectsExpiredBy: 'bucket-lifecycle' as const } };
    await placeHold(lifecycleDeps, 'tagged', 'audit');
    const keys = await keysOf('tagged');
    expect([...tags.keys()].sort()).toEqual(keys.sort());
    expect(new Set(tags.values())).toEqual(new Set(['held']));
    await releaseHold(lifecycleDeps, 'tagged');
    expect(new Set(tags.values())).toEqual(new Set(['expires']));
    await eraseSession(deps(), 'tagged');
  });
});

describe('runRetentionSweep', () => {
  it('erases expired sessions, keeps held and fresh ones', async () => {
    for (const id of ['old', 'old-held', 'fresh']) await seedSession(id);
    await sql.query("UPDATE sessions SET created_at = now() - interval '40 days' WHERE session_id IN ('old', 'old-held')");
    await placeHold(deps(), 'old-held', 'litigation');

    const report = await runRetentionSweep(sweepDeps({ sessionDays: 30 }), new Date());

    expect(report.sessions_erased).toBe(1);
    expect((await rowCounts('old')).sessions).toBe(0);
    expect(await keysOf('old')).toEqual([]);
    expect((await rowCounts('old-held')).audio_chunks).toBe(2);
    expect((await keysOf('old-held')).length).toBe(8);
    expect((await rowCounts('fresh')).audio_chunks).toBe(2);
    await releaseHold(deps(), 'old-held');
    for (const id of ['old-held', 'fresh']) await eraseSession(deps(), id);
  });

  it('expires audio and transcripts by their own periods, with the search index, skipping held sessions', async () => {
    for (const id of ['aged', 'aged-held', 'young']) await seedSession(id);
    await age('aged', 10);
    await age('aged-held', 10);
    await sql.query("UPDATE audio_chunks SET transcript_updated_at = now() - interval '10 days' WHERE session_id IN ('aged', 'aged-held')");
    await placeHold(deps(), 'aged-held', 'regulator');

    const report = await runRetentionSweep(sweepDeps({ audioDays: 7, transcriptDays: 7 }), new Date());

    expect(report).toMatchObject({
      sessions_erased: 0,
      transcripts_unindexed: 2,
      objects_deleted: { audio: 2, transcripts: 2, transcript_details: 2, audio_track_headers: 1, transcribe_output: 1 },
    });
    expect(await keysOf('aged')).toEqual([]);
    expect((await rowCounts('aged')).audio_chunks).toBe(2); // rows go with the session's own retention
    expect(await searchHits('binary')).toEqual(['aged-held', 'young']);
    expect((await keysOf('aged-held')).length).toBe(8);
    expect((await keysOf('young')).length).toBe(8);
  });

  it('keeps audio when only transcripts expire, and does nothing with retention off', async () => {
    await seedSession('partial');
    await age('partial', 10);
    const off = await runRetentionSweep(deps(), new Date());
    expect(off.objects_deleted).toEqual({ audio: 0, transcripts: 0, transcript_details: 0, audio_track_headers: 0, transcribe_output: 0 });
    expect((await keysOf('partial')).length).toBe(8);

    await runRetentionSweep(sweepDeps({ transcriptDays: 7 }), new Date());
    expect((await keysOf('partial')).map((key) => key.split('/')[0])).toEqual(['audio', 'audio', 'audio-track-headers']);
  });

  it('deletes objects a transcription wrote after its session was erased, and nothing of live sessions', async () => {
    await seedSession('late');
    await seedSession('alive');
    await eraseSession(deps(), 'late');
    // A transcription that was running during the erasure finishes after its last pass.
    await store.put(transcriptKeyFor('late', '999'), 'late words');
    await store.put(transcriptDetailsKeyFor('late', '999'), '{}');

    const report = await runRetentionSweep({ sql, store, logger, retention: { objectsExpiredBy: 'bucket-lifecycle' } }, new Date());
    expect(report.orphans_deleted).toBe(2);
    expect(await keysOf('late')).toEqual([]);
    expect((await keysOf('alive')).length).toBe(8);
    await eraseSession(deps(), 'alive');
  });

  it('finishes an erasure a crash left behind', async () => {
    await seedSession('orphan');
    await sql.query("INSERT INTO session_erasures (session_id) VALUES ('orphan')");
    const report = await runRetentionSweep(deps(), new Date());
    expect(report.sessions_erased).toBe(1);
    expect((await rowCounts('orphan')).sessions).toBe(0);
    expect(await keysOf('orphan')).toEqual([]);
  });

  it('re-tags held sessions objects where the bucket expires them', async () => {
    await seedSession('retag');
    await placeHold(deps(), 'retag', 'dispute');
    const tagged: string[] = [];
    const tagging: ObjectStore = Object.assign(Object.create(store) as DirectoryObjectStore, {
      setTags: async (key: string, value: Record<string, string>) => {
        if (value.retention === 'held') tagged.push(key);
      },
    });
    const report = await runRetentionSweep(
      { sql, store: tagging, logger, retention: { objectsExpiredBy: 'bucket-lifecycle', audioDays: 1 } },
      new Date(),
    );
    expect(report.objects_retagged).toBeGreaterThanOrEqual(6);
    expect(tagged).toEqual(expect.arrayContaining(await keysOf('retag')));
    // The bucket, not the sweep, deletes objects here.
    expect(report.objects_deleted.audio).toBe(0);
  });
});
