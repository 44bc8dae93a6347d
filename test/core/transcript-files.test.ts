/**
 * Listing transcripts reads list pages only: one list request per 1,000 keys, no per-object read,
 * and one database query, for the chunks' tracks (sequence, speaker, started_at), whatever the count.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirectoryObjectStore } from '../../functions/adapters/object-store/directory';
import type { ObjectStore } from '../../functions/core/ports/object-store';
import type { Sql } from '../../functions/core/ports/sql';
import { getTranscriptFile, listTranscriptFiles } from '../../functions/core/transcripts/transcript-files';
import { chunkIdOfTranscriptKey } from '../../functions/core/transcripts/transcript-objects';

let root: string;

/** The real directory store, with every call counted. */
const countingStore = (store: ObjectStore) => {
  const calls: Record<string, number> = {};
  const counted = new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls[String(property)] = (calls[String(property)] ?? 0) + 1;
        return value.apply(target, args);
      };
    },
  });
  return { store: counted, calls };
};

/** A database whose only answer is the tracks given; counts its queries. */
const tracksSql = (tracks: Record<string, unknown>[] = []) => {
  const queries: string[] = [];
  const sql = {
    query: async (text: string) => {
      queries.push(text);
      return tracks;
    },
    transaction: () => Promise.reject(new Error('listing needs no transaction')),
    close: async () => undefined,
  } as unknown as Sql;
  return { sql, queries };
};
const untouchableSql = tracksSql().sql;

const writeTranscripts = (sessionId: string, count: number) => {
  const dir = join(root, 'transcripts', sessionId);
  mkdirSync(dir, { recursive: true });
  for (let chunk = 1; chunk <= count; chunk++) writeFileSync(join(dir, `${sessionId}_${chunk}.txt`), `words of chunk ${chunk}`);
};

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'interview-ops-transcript-files-'));
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('listTranscriptFiles', () => {
  it('lists 1,000 transcripts with one list request and no per-object read, in chunk order', async () => {
    writeTranscripts('s', 1000);
    const { store, calls } = countingStore(await new DirectoryObjectStore(root).open());
    const listed = await listTranscriptFiles({ sql: untouchableSql, store }, 's');
    expect(calls).toEqual({ list: 1, locationOf: 1000 });
    expect(listed.total_count).toBe(1000);
    expect(listed.transcripts).toHaveLength(1000);
    expect(listed.transcripts.slice(0, 3).map((file) => file.filename)).toEqual(['s_1.txt', 's_2.txt', 's_3.txt']);
    expect(listed.transcripts.at(-1)).toMatchObject({
      filename: 's_1000.txt',
      file_path: 'transcripts/s/s_1000.txt',
      file_size: 'words of chunk 1000'.length,
    });
  });

  it('makes one database query for 1,000 transcripts, and returns each chunk its track', async () => {
    writeTranscripts('s', 1000);
    const { sql, queries } = tracksSql([
      { chunk_id: '7', sequence: 6, speaker: 'candidate', started_at: '2026-01-01T00:00:30.000Z' },
      { chunk_id: '8', sequence: null, speaker: 'interviewer', started_at: null },
    ]);
    const listed = await listTranscriptFiles({ sql, store: await new DirectoryObjectStore(root).open() }, 's');
    expect(queries).toHaveLength(1);
    expect(listed.transcripts[6]).toMatchObject({
      filename: 's_7.txt',
      sequence: 6,
      speaker: 'candidate',
      started_at: '2026-01-01T00:00:30.000Z',
    });
    expect(listed.transcripts[7]).toMatchObject({ filename: 's_8.txt', sequence: null, speaker: 'interviewer', started_at: null });
    expect(listed.transcripts[0]).toMatchObject({ sequence: null, speaker: null, started_at: null });
  });

  it('takes a second list request for the 1,001st key', async () => {
    writeTranscripts('s', 1001);
    const { store, calls } = countingStore(await new DirectoryObjectStore(root).open());
    expect((await listTranscriptFiles({ sql: untouchableSql, store }, 's')).total_count).toBe(1001);
    expect(calls.list).toBe(2);
    expect(calls.get ?? 0).toBe(0);
    expect(calls.head ?? 0).toBe(0);
  });

  it('ignores other objects under the prefix and other sessions that share it', async () => {
    writeTranscripts('s', 2);
    writeTranscripts('s-2', 1);
    writeFileSync(join(root, 'transcripts', 's', 'notes.txt'), 'not a transcript');
    writeFileSync(join(root, 'transcripts', 's', 's_3.txt.bak'), 'not a transcript');
    const store = await new DirectoryObjectStore(root).open();
    const listed = await listTranscriptFiles({ sql: untouchableSql, store }, 's');
    expect(listed.transcripts.map((file) => file.filename)).toEqual(['s_1.txt', 's_2.txt']);
  });
});
