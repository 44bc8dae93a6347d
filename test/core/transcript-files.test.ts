/**
 * Listing transcripts reads list pages only: one list request per 1,000 keys, no per-object read,
 * and no database query when the session has transcripts.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirectoryObjectStore } from '../../functions/adapters/object-store/directory';
import type { ObjectStore } from '../../functions/core/ports/object-store';
import type { Sql } from '../../functions/core/ports/sql';
import { listTranscriptFiles } from '../../functions/core/transcripts/transcript-files';
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

/** Listing a session that has transcripts must not touch the database at all. */
const untouchableSql = {
  query: () => Promise.reject(new Error('listing must not query the database')),
  transaction: () => Promise.reject(new Error('listing must not query the database')),
  close: async () => undefined,
} as unknown as Sql;

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

describe('chunkIdOfTranscriptKey', () => {
  it.each([
    ['transcripts/abc/abc_12.txt', '12'],
    ['transcripts/abc/abc_x.txt', null],
    ['transcripts/abc/other_12.txt', null],
    ['transcripts/abc/abc_12.txt.json', null],
    ['transcripts/abc-d/abc-d_1.txt', null],
    ['audio/abc/12.wav', null],
  ])('reads %s as %s', (key, expected) => {
    expect(chunkIdOfTranscriptKey('abc', key)).toBe(expected);
  });
});
