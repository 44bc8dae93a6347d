import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirectoryObjectStore } from '../../../functions/adapters/object-store/directory';
import { describeObjectStoreContract } from './object-store.contract';

describeObjectStoreContract('directory', async () => {
  const root = await mkdtemp(join(tmpdir(), 'object-store-'));
  return {
    store: await new DirectoryObjectStore(root).open(),
    unreachable: new DirectoryObjectStore(join(root, 'never-created')),
    // Locally file_path is the path under DATA_DIR, which is the key itself.
    expectedLocation: (key) => key,
    stop: () => rm(root, { recursive: true, force: true }),
  };
});

describe('directory store head', () => {
  let root: string;
  let store: DirectoryObjectStore;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'object-store-head-'));
    store = await new DirectoryObjectStore(root).open();
    await store.put('transcripts/s/s_1.txt', 'one');
  });

  afterEach(() => rm(root, { recursive: true, force: true }));

  it('describes the file as it is on disk: replaced behind its back, then removed', async () => {
    const key = 'transcripts/s/s_1.txt';
    expect((await store.head(key))!.size).toBe(3);
    writeFileSync(join(root, 'transcripts/s/replacement'), 'replaced');
    renameSync(join(root, 'transcripts/s/replacement'), join(root, key));
    expect((await store.head(key))!.size).toBe(8);
    rmSync(join(root, key));
    expect(await store.head(key)).toBeNull();
  });
});
