/**
 * The directory store keeps listings between calls; these check that a kept listing never hides a
 * change made behind the store's back, whether the folder had settled or had just changed, and that list
 * calls sharing one check of a folder each get it as it was after the call was made.
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirectoryObjectStore } from '../../../functions/adapters/object-store/directory';

const keysOf = async (store: DirectoryObjectStore, prefix: string) => (await store.list(prefix)).objects.map((object) => object.key);

/** Moves the folder's times back, as if it had last changed a while ago, so its listing is kept. */
const settle = (path: string) => {
  const past = new Date(Date.now() - 60_000);
  utimesSync(path, past, past);
};

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

  it('keeps the listing of a settled folder: a file edited in place keeps its listed size until the folder changes', async () => {
    settle(join(root, 'snapshots'));
    expect((await store.list('snapshots/')).objects.map((object) => object.size)).toEqual([2, 2]);
    writeFileSync(join(root, 'snapshots/snapshot_1.json'), '{"edited": true}');
    expect((await store.list('snapshots/')).objects.map((object) => object.size)).toEqual([2, 2]);
    expect((await store.head('snapshots/snapshot_1.json'))!.size).toBe(16);
    writeFileSync(join(root, 'snapshots/snapshot_3.json'), '{}');
    expect((await store.list('snapshots/')).objects.map((object) => object.size)).toEqual([16, 2, 2]);
  });

  it('sees a file added behind its back after a listing of a settled folder', async () => {
    settle(join(root, 'snapshots'));
    expect(await keysOf(store, 'snapshots/')).toEqual(['snapshots/snapshot_1.json', 'snapshots/snapshot_2.json']);
    writeFileSync(join(root, 'snapshots/snapshot_3.json'), '{}');
    expect(await keysOf(store, 'snapshots/')).toEqual(['snapshots/snapshot_1.json', 'snapshots/snapshot_2.json', 'snapshots/snapshot_3.json']);
  });

  it('sees a file removed or replaced behind its back after a listing of a settled folder', async () => {
    settle(join(root, 'snapshots'));
    expect(await keysOf(store, 'snapshots/')).toHaveLength(2);
    rmSync(join(root, 'snapshots/snapshot_1.json'));
    expect(await keysOf(store, 'snapshots/')).toEqual(['snapshots/snapshot_2.json']);
    settle(join(root, 'snapshots'));
    expect((await store.list('snapshots/')).objects[0]!.size).toBe(2);
    writeFileSync(join(root, 'replacement'), '{"bigger": true}');
    renameSync(join(root, 'replacement'), join(root, 'snapshots/snapshot_2.json'));
    expect((await store.list('snapshots/')).objects[0]!.size).toBe(16);
  });

  it('sees a change made right after a listing, within the same filesystem time tick', async () => {
    for (let round = 0; round < 20; round += 1) {
      const before = await keysOf(store, 'snapshots/');
      writeFileSync(join(root, `snapshots/snapshot_x${round}.json`), '{}');
      expect(await keysOf(store, 'snapshots/')).toHaveLength(before.length + 1);
    }
  });

  it('does not keep the listing of a folder whose time is a recent whole second, as a seconds-only filesystem gives', async () => {
    const folder = join(root, 'snapshots');
    const wholeSecond = new Date(Math.floor((Date.now() - 100) / 1000) * 1000);
    utimesSync(folder, wholeSecond, wholeSecond);
    expect((await store.list('snapshots/')).objects.map((object) => object.size)).toEqual([2, 2]);
    // Edited in place, the folder untouched: only a listing read again shows it.
    writeFileSync(join(root, 'snapshots/snapshot_1.json'), '{"edited": true}');
    expect((await store.list('snapshots/')).objects.map((object) => object.size)).toEqual([16, 2]);
  });

  it('sees a file added to a sub-folder of a settled listing', async () => {
    await store.put('transcripts/s1/s1_1.txt', 'one');
    settle(join(root, 'transcripts/s1'));
    settle(join(root, 'transcripts'));
    expect(await keysOf(store, 'transcripts/')).toEqual(['transcripts/s1/s1_1.txt']);
    writeFileSync(join(root, 'transcripts/s1/s1_2.txt'), 'two');
    expect(await keysOf(store, 'transcripts/')).toEqual(['transcripts/s1/s1_1.txt', 'transcripts/s1/s1_2.txt']);
    mkdirSync(join(root, 'transcripts/s2'));
    writeFileSync(join(root, 'transcripts/s2/s2_1.txt'), 'three');
    expect(await keysOf(store, 'transcripts/')).toHaveLength(3);
  });

  it('gives a list call the folder as it is after the call: files added right after it, in the same turn, are listed', async () => {
    settle(join(root, 'snapshots'));
    expect(await keysOf(store, 'snapshots/')).toHaveLength(2);
    const first = keysOf(store, 'snapshots/');
    writeFileSync(join(root, 'snapshots/snapshot_3.json'), '{}');
    const second = keysOf(store, 'snapshots/');
    rmSync(join(root, 'snapshots/snapshot_1.json'));
    const expected = ['snapshots/snapshot_2.json', 'snapshots/snapshot_3.json'];
    expect(await first).toEqual(expected);
    expect(await second).toEqual(expected);
  });

  it('makes a list call that comes after a check began wait for a check of its own', async () => {
    settle(join(root, 'snapshots'));
    const early = keysOf(store, 'snapshots/');
    // Queued after the check the early call waits for, so it runs once that check is done.
    const late = new Promise<string[]>((resolve) =>
      setImmediate(() => {
        writeFileSync(join(root, 'snapshots/snapshot_3.json'), '{}');
        resolve(keysOf(store, 'snapshots/'));
      }),
    );
    expect(await early).toEqual(['snapshots/snapshot_1.json', 'snapshots/snapshot_2.json']);
    expect(await late).toEqual(['snapshots/snapshot_1.json', 'snapshots/snapshot_2.json', 'snapshots/snapshot_3.json']);
  });
});
