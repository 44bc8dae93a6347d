import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirectoryObjectStore } from '../../functions/adapters/directory-object-store';
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
