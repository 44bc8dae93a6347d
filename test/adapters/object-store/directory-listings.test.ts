/** The directory store lists the folder as it is on disk, including changes made behind the store's back. */
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirectoryObjectStore } from '../../../functions/adapters/object-store/directory';

const keysOf = async (store: DirectoryObjectStore, prefix: string) => (await store.list(prefix)).objects.map((object) => object.key);

describe('directory store listings', () => {
  let root: string;
  let store: DirectoryObjectStore;

  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), 'listings-'));
    store = await new DirectoryObjectStore(root).open();
    await store.put('snapshots/snapshot_1.json', '{}');
    await store.put('snapshots/snapshot_2.json', '{}');
  });

  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('sees a file added behind its back after a listing', async () => {
    expect(await keysOf(store, 'snapshots/')).toEqual(['snapshots/snapshot_1.json', 'snapshots/snapshot_2.json']);
    writeFileSync(join(root, 'snapshots/snapshot_3.json'), '{}');
    expect(await keysOf(store, 'snapshots/')).toEqual([
      'snapshots/snapshot_1.json',
      'snapshots/snapshot_2.json',
      'snapshots/snapshot_3.json',
    ]);
  });

  it('sees a file removed or replaced behind its back after a listing', async () => {
    expect(await keysOf(store, 'snapshots/')).toHaveLength(2);
    rmSync(join(root, 'snapshots/snapshot_1.json'));
    expect(await keysOf(store, 'snapshots/')).toEqual(['snapshots/snapshot_2.json']);
    expect((await store.list('snapshots/')).objects[0]!.size).toBe(2);
    writeFileSync(join(root, 'replacement'), '{"bigger": true}');
    renameSync(join(root, 'replacement'), join(root, 'snapshots/snapshot_2.json'));
    expect((await store.list('snapshots/')).objects[0]!.size).toBe(16);
  });

  it('lists a file edited in place with its new size', async () => {
    expect((await store.list('snapshots/')).objects.map((object) => object.size)).toEqual([2, 2]);
    writeFileSync(join(root, 'snapshots/snapshot_1.json'), '{"edited": true}');
    expect((await store.list('snapshots/')).objects.map((object) => object.size)).toEqual([16, 2]);
  });

  it('sees a change made right after a listing, within the same filesystem time tick', async () => {
    for (let round = 0; round < 20; round += 1) {
      const before = await keysOf(store, 'snapshots/');
      writeFileSync(join(root, `snapshots/snapshot_x${round}.json`), '{}');
      expect(await keysOf(store, 'snapshots/')).toHaveLength(before.length + 1);
    }
  });

  it('sees a file added to a sub-folder after a listing', async () => {
    await store.put('transcripts/s1/s1_1.txt', 'one');
    expect(await keysOf(store, 'transcripts/')).toEqual(['transcripts/s1/s1_1.txt']);
    writeFileSync(join(root, 'transcripts/s1/s1_2.txt'), 'two');
    expect(await keysOf(store, 'transcripts/')).toEqual(['transcripts/s1/s1_1.txt', 'transcripts/s1/s1_2.txt']);
    mkdirSync(join(root, 'transcripts/s2'));
    writeFileSync(join(root, 'transcripts/s2/s2_1.txt'), 'three');
    expect(await keysOf(store, 'transcripts/')).toHaveLength(3);
  });
});
