/**
 * The ObjectStore port's promises (functions/core/ports/object-store.ts), as one suite that every
 * adapter runs unchanged: object-store.directory.test.ts and object-store.s3.test.ts.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAll, ObjectAlreadyExistsError, type ObjectBody, type ObjectStore } from '../../../functions/core/ports/object-store';

export interface ObjectStoreUnderTest {
  store: ObjectStore;
  /** The same kind of store pointed at something that cannot answer (a missing bucket or directory). */
  unreachable: ObjectStore;
  /** What `locationOf` must return for a key in this store. */
  expectedLocation(key: string): string;

  stop(): Promise<void>;
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const text = (body: Uint8Array) => Buffer.from(body).toString('utf8');

/** A body that yields `first`, then waits until released before yielding `rest`. */
const gatedBody = (first: string, rest: string) => {
  let release!: () => void;
  let fail!: (error: Error) => void;
  let reachedGate!: () => void;
  const gate = new Promise<void>((resolve, reject) => {
    release = resolve;
    fail = reject;
  });
  const atGate = new Promise<void>((resolve) => (reachedGate = resolve));
  async function* body(): AsyncIterable<ObjectBody> {
    yield first;
    reachedGate();
    await gate;
    yield rest;
  }
  return { body: body(), atGate, release, fail };
};

export interface ContractOptions {
  /**
   * Whether whatever takes the presigned PUTs checks their bounds (type, size, expiry, signature). s3rver
   * checks none, so the S3 adapter's bounds are proven by its run against the twin's S3, which does.
   */
  checksUploadBounds: boolean;
}

export const describeObjectStoreContract = (
  name: string,
  start: () => Promise<ObjectStoreUnderTest>,
  { checksUploadBounds }: ContractOptions,
) => {
  describe(`ObjectStore contract: ${name}`, () => {
    let subject: ObjectStoreUnderTest;
    let store: ObjectStore;
    let counter = 0;
    /** Each test works under its own prefix, so tests share one store without seeing each other. */
    const fresh = () => `contract-${++counter}/`;

    beforeAll(async () => {
      subject = await start();
      store = subject.store;
    });
    afterAll(async () => {
      await subject?.stop();
    });

    it('returns the bytes it stored, with size and an ISO 8601 UTC timestamp', async () => {
      const key = `${fresh()}bytes.bin`;
      const bytes = new Uint8Array([0, 1, 2, 250, 255]);
      const written = await store.put(key, bytes);
      expect(written).toEqual({ key, size: 5, lastModified: expect.stringMatching(ISO_UTC) });
      const read = await store.get(key);
      expect(Buffer.from(read!.body).equals(Buffer.from(bytes))).toBe(true);
      expect(read!.object).toMatchObject({ key, size: 5, lastModified: written.lastModified });
    });

    it('stores a string body as UTF-8', async () => {
      const key = `${fresh()}greeting.txt`;
      const written = await store.put(key, 'héllo wörld');
      expect(written.size).toBe(Buffer.byteLength('héllo wörld'));
      expect(text((await store.get(key))!.body)).toBe('héllo wörld');
    });

    it('keeps the content type and user metadata, and head agrees with get', async () => {
      const key = `${fresh()}meta.json`;
      await store.put(key, '{"a":1}', {
        contentType: 'application/json',
        metadata: { 'session-id': 'abc_1', 'chunk-id': '42' },
      });
      const head = await store.head(key);
      expect(head).toEqual({
        key,
        size: 7,
        lastModified: expect.stringMatching(ISO_UTC),
        contentType: 'application/json',
        metadata: { 'session-id': 'abc_1', 'chunk-id': '42' },
      });
      expect((await store.get(key))!.object).toEqual(head);
    });

    it('answers null for a key that does not exist', async () => {
      const key = `${fresh()}missing.txt`;
      expect(await store.head(key)).toBeNull();
      expect(await store.get(key)).toBeNull();
    });

    it('replaces an object on a plain put', async () => {
      const key = `${fresh()}replace.txt`;
      await store.put(key, 'first', { metadata: { version: '1' } });
      await store.put(key, 'second!', { metadata: { version: '2' } });
      const read = await store.get(key);
      expect(text(read!.body)).toBe('second!');
      expect(read!.object.size).toBe(7);
      expect(read!.object.metadata).toEqual({ version: '2' });
    });

    it('creates with ifAbsent once, then refuses with ObjectAlreadyExistsError and keeps the first body', async () => {
      const key = `${fresh()}once.txt`;
      await store.put(key, 'original', { ifAbsent: true });
      const second = store.put(key, 'intruder', { ifAbsent: true });
      await expect(second).rejects.toBeInstanceOf(ObjectAlreadyExistsError);
      await expect(second).rejects.toMatchObject({ key });
      expect(text((await store.get(key))!.body)).toBe('original');
    });

    it('lets exactly one of several concurrent ifAbsent puts win', async () => {
      const key = `${fresh()}race.txt`;
      const outcomes = await Promise.allSettled(['a', 'b', 'c', 'd', 'e'].map((body) => store.put(key, body, { ifAbsent: true })));
      const won = outcomes.filter((outcome) => outcome.status === 'fulfilled');
      const lost = outcomes.filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(4);
      for (const outcome of lost) expect(outcome.reason).toBeInstanceOf(ObjectAlreadyExistsError);
      expect(['a', 'b', 'c', 'd', 'e']).toContain(text((await store.get(key))!.body));
    });

    it('writes a streamed body as the concatenation of its pieces, with options', async () => {
      const key = `${fresh()}stream.json`;
      async function* pieces(): AsyncIterable<ObjectBody> {
        yield '[';
        yield new TextEncoder().encode('1,2');
        yield ',3]';
      }
      const written = await store.putStream(key, pieces(), { contentType: 'application/json', metadata: { rows: '3' } });
      expect(written).toEqual({ key, size: 7, lastModified: expect.stringMatching(ISO_UTC) });
      const read = await store.get(key);
      expect(text(read!.body)).toBe('[1,2,3]');
      expect(read!.object).toMatchObject({ contentType: 'application/json', metadata: { rows: '3' } });
    });

    it('refuses a streamed ifAbsent write onto an existing key', async () => {
      const key = `${fresh()}stream-once.json`;
      await store.put(key, 'kept');
      async function* pieces(): AsyncIterable<ObjectBody> {
        yield 'not ';
        yield 'kept';
      }
      await expect(store.putStream(key, pieces(), { ifAbsent: true })).rejects.toBeInstanceOf(ObjectAlreadyExistsError);
      expect(text((await store.get(key))!.body)).toBe('kept');
    });

    it('shows no part of a streamed object until the stream has finished', async () => {
      const prefix = fresh();
      const key = `${prefix}snapshot.json`;
      const { body, atGate, release } = gatedBody('{"partial":', 'true}');
      const writing = store.putStream(key, body);
      await atGate;
      expect(await store.head(key)).toBeNull();
      expect(await store.get(key)).toBeNull();
      expect((await store.list(prefix)).objects).toEqual([]);
      release();
      await writing;
      expect(text((await store.get(key))!.body)).toBe('{"partial":true}');
    });

    it('leaves nothing behind when a streamed body fails', async () => {
      const prefix = fresh();
      const key = `${prefix}broken.json`;
      const { body, atGate, fail } = gatedBody('{"half":', '');
      const writing = store.putStream(key, body);
      await atGate;
      fail(new Error('producer failed'));
      await expect(writing).rejects.toThrow('producer failed');
      expect(await store.head(key)).toBeNull();
      expect((await store.list(prefix)).objects).toEqual([]);
    });

    it('lists only keys under the prefix, in ascending byte order, with sizes', async () => {
      const prefix = fresh();
      // '-' (0x2d) sorts before '/' (0x2f) and digits; upper case before lower case.
      const keys = [`${prefix}b/2.txt`, `${prefix}a/1.txt`, `${prefix}a-b.txt`, `${prefix}B.txt`, `${prefix}a/10.txt`];
      for (const key of keys) await store.put(key, key);
      await store.put(`${prefix.slice(0, -1)}x/outside.txt`, 'outside');
      const page = await store.list(prefix);
      expect(page.objects.map((object) => object.key)).toEqual([...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
      expect(page.nextToken).toBeUndefined();
      for (const object of page.objects) {
        expect(object.size).toBe(Buffer.byteLength(object.key));
        expect(object.lastModified).toMatch(ISO_UTC);
      }
    });

    it('matches a prefix that ends inside a name, as snapshot listings do', async () => {
      const prefix = fresh();
      await store.put(`${prefix}snapshot_20240101_000000.json`, '{}');
      await store.put(`${prefix}snapshot_20240102_000000.json`, '{}');
      await store.put(`${prefix}other.json`, '{}');
      const page = await store.list(`${prefix}snapshot_2024010`);
      expect(page.objects.map((object) => object.key)).toEqual([
        `${prefix}snapshot_20240101_000000.json`,
        `${prefix}snapshot_20240102_000000.json`,
      ]);
    });

    it('answers an empty page for a prefix with no objects', async () => {
      expect(await store.list(fresh())).toEqual({ objects: [] });
    });

    it('pages with maxKeys and nextToken, visiting every key once, in order', async () => {
      const prefix = fresh();
      const keys = Array.from({ length: 7 }, (_, index) => `${prefix}k${index}.txt`);
      await Promise.all(keys.map((key) => store.put(key, 'x')));
      const pages: string[][] = [];
      let continuationToken: string | undefined;
      do {
        const page = await store.list(prefix, { maxKeys: 3, continuationToken });
        pages.push(page.objects.map((object) => object.key));
        continuationToken = page.nextToken;
      } while (continuationToken);
      expect(pages).toEqual([keys.slice(0, 3), keys.slice(3, 6), keys.slice(6)]);
      const all: string[] = [];
      for await (const object of listAll(store, prefix, { maxKeys: 2 })) all.push(object.key);
      expect(all).toEqual(keys);
    });

    it('starts strictly after startAfter', async () => {
      const prefix = fresh();
      const keys = ['a', 'b', 'c', 'd'].map((name) => `${prefix}${name}`);
      for (const key of keys) await store.put(key, 'x');
      const page = await store.list(prefix, { startAfter: keys[1] });
      expect(page.objects.map((object) => object.key)).toEqual(keys.slice(2));
      const limited = await store.list(prefix, { startAfter: `${prefix}a`, maxKeys: 1 });
      expect(limited.objects.map((object) => object.key)).toEqual([keys[1]]);
      expect(limited.nextToken).toEqual(expect.any(String));
    });

    it('deletes the given keys, ignores keys that do not exist, and leaves the rest', async () => {
      const prefix = fresh();
      const keys = ['1', '2', '3'].map((name) => `${prefix}${name}.txt`);
      for (const key of keys) await store.put(key, 'x', { metadata: { n: '1' } });
      await store.delete([keys[0]!, keys[2]!, `${prefix}never-written.txt`]);
      expect((await store.list(prefix)).objects.map((object) => object.key)).toEqual([keys[1]]);
      expect(await store.head(keys[0]!)).toBeNull();
      await store.delete([]);
      // A key written again after a delete starts without the old metadata.
      await store.put(keys[0]!, 'y');
      expect((await store.head(keys[0]!))!.metadata).toEqual({});
    });

    it('reads a byte range without the rest, and null for a missing key', async () => {
      const key = `${fresh()}range.bin`;
      await store.put(key, new Uint8Array(Array.from({ length: 100 }, (_, index) => index)));
      expect([...(await store.getRange(key, 10, 14))!]).toEqual([10, 11, 12, 13]);
      expect([...(await store.getRange(key, 98, 120))!]).toEqual([98, 99]);
      expect((await store.getRange(key, 200, 210))!.byteLength).toBe(0);
      expect(await store.getRange(`${fresh()}missing.bin`, 0, 10)).toBeNull();
    });

    it('streams an object piece by piece, and null for a missing key', async () => {
      const key = `${fresh()}stream.bin`;
      // Three of the directory store's 1 MiB reads and more than one socket read from S3.
      const body = new Uint8Array(3 * 1024 * 1024 + 5).map((_, index) => index % 251);
      await store.put(key, body);
      const pieces: Uint8Array[] = [];
      for await (const piece of (await store.getStream(key))!) pieces.push(piece);
      expect(pieces.length).toBeGreaterThan(1);
      expect(Buffer.concat(pieces).equals(Buffer.from(body))).toBe(true);
      expect(await store.getStream(`${fresh()}missing.bin`)).toBeNull();
    });

    it('presigns a PUT with its SHA-256 that takes exactly those bytes', async () => {
      const key = `${fresh()}digest.wav`;
      const body = Buffer.from('RIFF-digest-checked');
      const sha256 = createHash('sha256').update(body).digest('hex');
      const presigned = await store.presignPut(key, { contentType: 'audio/wav', size: body.length, expiresInSeconds: 300, sha256 });
      expect(presigned.headers['x-amz-checksum-sha256']).toBe(createHash('sha256').update(body).digest('base64'));
      const response = await fetch(presigned.url, { method: 'PUT', headers: presigned.headers, body });
      expect(response.status).toBe(200);
      expect(Buffer.from((await store.get(key))!.body).equals(body)).toBe(true);
    });

    it('presigns a PUT that stores the bytes, with their type, at that key', async () => {
      const key = `${fresh()}upload.wav`;
      const body = Buffer.from('RIFF-not-really-audio');
      const presigned = await store.presignPut(key, { contentType: 'audio/wav', size: body.length, expiresInSeconds: 300 });
      expect(presigned).toMatchObject({ method: 'PUT', headers: { 'content-type': 'audio/wav', 'content-length': String(body.length) } });
      expect(Date.parse(presigned.expiresAt) - Date.now()).toBeGreaterThan(200_000);
      expect(Date.parse(presigned.expiresAt) - Date.now()).toBeLessThanOrEqual(300_000);
      expect(await store.head(key)).toBeNull();
      const response = await fetch(presigned.url, { method: 'PUT', headers: presigned.headers, body });
      expect(response.status).toBe(200);
      const read = await store.get(key);
      expect(Buffer.from(read!.body).equals(body)).toBe(true);
      expect(read!.object.contentType).toBe('audio/wav');
    });

    it('presigns a GET that reads the bytes of that key, without credentials', async () => {
      const key = `${fresh()}piece.json`;
      await store.put(key, '[{"a":1}]', { contentType: 'application/json' });
      const presigned = await store.presignGet(key, { expiresInSeconds: 300 });
      expect(presigned.method).toBe('GET');
      expect(Date.parse(presigned.expiresAt) - Date.now()).toBeGreaterThan(200_000);
      const response = await fetch(presigned.url);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('[{"a":1}]');
      if (checksUploadBounds) {
        // Another key under the same signature is refused.
        const other = await fetch(presigned.url.replace('/piece.json', '/other.json'));
        expect(other.status).toBe(403);
      }
    });

    it('presigns a GET of a gzipped object that answers it as JSON with Content-Encoding: gzip', async () => {
      const key = `${fresh()}piece.json.gz`;
      await store.put(key, gzipSync('[{"a":1}]'), { contentType: 'application/gzip' });
      const presigned = await store.presignGet(key, {
        expiresInSeconds: 300,
        responseContentType: 'application/json',
        responseContentEncoding: 'gzip',
      });
      const response = await fetch(presigned.url);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('application/json');
      expect(response.headers.get('content-encoding')).toBe('gzip');
      // fetch decodes it, as a browser does.
      expect(await response.text()).toBe('[{"a":1}]');
      if (checksUploadBounds) {
        // The overrides are signed: another type under the same signature is refused.
        const other = await fetch(presigned.url.replace('application%2Fjson', 'text%2Fhtml'));
        expect(other.status).toBe(403);
      }
    });

    // Registered only where bounds are checked: a store that checks none has no such test, not a skipped one.
    if (checksUploadBounds)
      describe('presigned PUT bounds', () => {
        const refused = async (url: string, headers: Record<string, string>, body: Buffer, key: string) => {
          const response = await fetch(url, { method: 'PUT', headers, body });
          expect(response.status).toBeGreaterThanOrEqual(400);
          expect(response.status).toBeLessThan(500);
          expect(await store.head(key)).toBeNull();
          return response.status;
        };
        const upload = async (expiresInSeconds = 300) => {
          const key = `${fresh()}bounded.wav`;
          const body = Buffer.from('0123456789');
          const presigned = await store.presignPut(key, { contentType: 'audio/wav', size: body.length, expiresInSeconds });
          return { key, body, presigned };
        };

        it('refuses another content type', async () => {
          const { key, body, presigned } = await upload();
          expect(await refused(presigned.url, { ...presigned.headers, 'content-type': 'audio/ogg' }, body, key)).toBeLessThan(500);
        });

        it('refuses another size, shorter or longer', async () => {
          const { key, body, presigned } = await upload();
          await refused(presigned.url, { 'content-type': 'audio/wav' }, body.subarray(0, 9), key);
          await refused(presigned.url, { 'content-type': 'audio/wav' }, Buffer.concat([body, Buffer.from('!')]), key);
        });

        it('refuses another key, and a changed signature', async () => {
          const { key, body, presigned } = await upload();
          const other = presigned.url.replace('/bounded.wav', '/other.wav');
          expect(other).not.toBe(presigned.url);
          await refused(other, presigned.headers, body, key.replace('bounded.wav', 'other.wav'));
          const url = new URL(presigned.url);
          const signatureName = [...url.searchParams.keys()].find((name) => /signature/i.test(name))!;
          const signature = url.searchParams.get(signatureName)!;
          url.searchParams.set(signatureName, (signature[0] === 'a' ? 'b' : 'a') + signature.slice(1));
          await refused(url.toString(), presigned.headers, body, key);
        });

        it('refuses bytes of the signed size whose SHA-256 is not the signed one (400 BadDigest), and a missing checksum header', async () => {
          const key = `${fresh()}digest.wav`;
          const body = Buffer.from('0123456789');
          const sha256 = createHash('sha256').update(body).digest('hex');
          const presigned = await store.presignPut(key, { contentType: 'audio/wav', size: body.length, expiresInSeconds: 300, sha256 });
          expect(await refused(presigned.url, presigned.headers, Buffer.from('9876543210'), key)).toBe(400);
          const { 'x-amz-checksum-sha256': _checksum, ...unsigned } = presigned.headers;
          await refused(presigned.url, unsigned, body, key);
          const response = await fetch(presigned.url, { method: 'PUT', headers: presigned.headers, body });
          expect(response.status).toBe(200);
        });

        it('refuses the URL once it has expired', async () => {
          const { key, body, presigned } = await upload(1);
          await new Promise((resolve) => setTimeout(resolve, Math.max(0, Date.parse(presigned.expiresAt) - Date.now()) + 1100));
          await refused(presigned.url, presigned.headers, body, key);
        });
      });

    it('says where an object lives', () => {
      const key = 'transcripts/s1/s1_1.txt';
      expect(store.locationOf(key)).toBe(subject.expectedLocation(key));
    });

    it('pings when reachable and fails when not', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
      await expect(subject.unreachable.ping()).rejects.toThrow();
    });
  });
};
