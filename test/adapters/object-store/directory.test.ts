import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirectoryObjectStore } from '../../../functions/adapters/object-store/directory';
import { SIGNED_DOWNLOAD_PATH } from '../../../functions/adapters/object-store/signed-upload';
import { serveSignedDownload } from '../../../functions/local/signed-downloads';
import { serveSignedUpload } from '../../../functions/local/signed-uploads';
import { describeObjectStoreContract } from './object-store.contract';

describeObjectStoreContract(
  'directory',
  async () => {
    const root = await mkdtemp(join(tmpdir(), 'object-store-'));
    let baseUrl = '';
    const store = await new DirectoryObjectStore(root, { uploadBaseUrl: () => baseUrl }).open();
    // The local gateway's signed-URL routes, alone: what takes the directory store's presigned PUTs and GETs.
    const server = createServer((request, response) => {
      const url = new URL(request.url!, 'http://localhost');
      const serve = url.pathname.startsWith(SIGNED_DOWNLOAD_PATH) ? serveSignedDownload : serveSignedUpload;
      void serve(store, request, url).then(({ statusCode, headers, body }) => {
        response.writeHead(statusCode, headers).end(body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return {
      store,
      unreachable: new DirectoryObjectStore(join(root, 'never-created')),
      // Locally file_path is the path under DATA_DIR, which is the key itself.
      expectedLocation: (key) => key,
      stop: async () => {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
        await rm(root, { recursive: true, force: true });
      },
    };
  },
  { checksUploadBounds: true },
);

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
