/**
 * The object store as a directory: key `a/b/c.txt` is the file `<root>/a/b/c.txt`, so the data
 * directory is laid out exactly like the S3 bucket. Content type and user metadata live in
 * `<root>/.meta/<key>.json`; temporary files in `<root>/.tmp`, on the same filesystem so a rename
 * publishes a finished file at once.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, type Stats } from 'node:fs';
import { access, constants, link, mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  base64OfHexSha256,
  type ListOptions,
  type ListPage,
  ObjectAlreadyExistsError,
  type ObjectBody,
  type ObjectStore,
  type PresignedGet,
  type PresignedPut,
  type PresignGetOptions,
  type PresignPutOptions,
  type PutOptions,
  presignedPutHeaders,
  type StoredObject,
  type StoredObjectWithMetadata,
} from '../../core/ports/object-store';
import { errorCodeOf, failureTranslator } from '../unreachable';
import { checkSignedDownload, checkSignedUpload, isRefusal, signedDownloadUrl, signedUploadUrl, type UploadRefusal } from './signed-upload';

const MAX_KEYS = 1000;
const META_DIR = '.meta';
const TMP_DIR = '.tmp';
/** The key signed upload URLs are made with (signed-upload.ts); kept so URLs outlive a restart. */
const UPLOAD_SECRET_FILE = '.upload-secret';
/** Keys S3 would accept that could still escape or alias a path: no empty, dot or dot-dot segments, no backslash or NUL. */
const SAFE_KEY = /^(?!.*(?:^|\/)\.{0,2}(?:\/|$))[^\\\0]+$/;
/** A full disk is the store being unavailable, as S3 failing would be, not a fault of the request. */
const DISK_FULL_CODES = new Set(['ENOSPC', 'EDQUOT']);
const translateDiskFailure = failureTranslator((error) => DISK_FULL_CODES.has(errorCodeOf(error)));

export interface DirectoryObjectStoreOptions {
  /** Called after an object is published, as S3 sends ObjectCreated notifications. */
  onObjectCreated?: (object: StoredObject) => void;
  /** The base URL of the server that takes signed uploads (functions/local/signed-uploads.ts); presignPut needs it. */
  uploadBaseUrl?: () => string;
}

/** A signed upload the server should take: its request line, the two signed headers and the body. */
export interface SignedUploadRequest {
  path: string;
  query: URLSearchParams;
  contentType: string | undefined;
  contentLength: string | undefined;
  /** The x-amz-checksum-sha256 header, if sent. */
  checksumSha256: string | undefined;
  body: AsyncIterable<Uint8Array>;
}

export class DirectoryObjectStore implements ObjectStore {
  private readonly root: string;
  private uploadSecret: Promise<Buffer> | undefined;

  constructor(
    root: string,
    private readonly options: DirectoryObjectStoreOptions = {},
  ) {
    this.root = resolve(root);
  }

  /** Creates the root and clears temporary files that a crash left behind. */
  async open(): Promise<this> {
    await rm(join(this.root, TMP_DIR), { recursive: true, force: true });
    await mkdir(join(this.root, TMP_DIR), { recursive: true });
    return this;
  }

  /** The path under the data directory, which pathOf guarantees is the key itself. */
  locationOf(key: string): string {
    this.pathOf(key);
    return key;
  }

  async put(key: string, body: ObjectBody, options: PutOptions = {}): Promise<StoredObject> {
    return this.putStream(key, [body], options);
  }

  async putStream(key: string, body: AsyncIterable<ObjectBody> | Iterable<ObjectBody>, options: PutOptions = {}) {
    const target = this.pathOf(key);
    const metadataPath = this.metadataPathOf(key);
    const { contentType, metadata } = options;
    const temporary = join(this.root, TMP_DIR, randomUUID());
    const metadataTemporary = contentType || metadata ? join(this.root, TMP_DIR, randomUUID()) : undefined;
    let published = false;
    try {
      // pipeline, not a write loop: a write that fails (ENOSPC) must reject here, not strand a 'drain'
      // wait and leave the stream's rejection unhandled, which ends the process.
      await pipeline(Readable.from(body), createWriteStream(temporary, { flags: 'wx' }));
      await syncFile(temporary);
      // Everything that takes space is done before the object is published, so a full disk leaves no
      // object without its metadata behind, only temporary files that are removed below.
      if (metadataTemporary) await writeFile(metadataTemporary, JSON.stringify({ contentType, metadata }), { flag: 'wx' });
      await mkdir(dirname(target), { recursive: true });
      if (metadataTemporary) await mkdir(dirname(metadataPath), { recursive: true });
      if (options.ifAbsent) {
        // link() fails with EEXIST instead of replacing: an atomic create-if-absent.
        await link(temporary, target).catch((error: NodeJS.ErrnoException) => {
          throw error.code === 'EEXIST' ? new ObjectAlreadyExistsError(key) : error;
        });
        published = true;
        await unlink(temporary);
      } else {
        await rename(temporary, target);
        published = true;
      }
      if (metadataTemporary) await rename(metadataTemporary, metadataPath);
      else await rm(metadataPath, { force: true });
    } catch (error) {
      // All or nothing, as an S3 PUT is.
      if (published) await rm(target, { force: true });
      await rm(temporary, { force: true });
      if (metadataTemporary) await rm(metadataTemporary, { force: true });
      return translateDiskFailure(error);
    }
    const object = objectOf(key, (await fileStatAt(target))!);
    this.options.onObjectCreated?.(object);
    return object;
  }

  async get(key: string) {
    const object = await this.head(key);
    if (!object) return null;
    const body = await readFile(this.pathOf(key)).catch(missingAsNull);
    return body ? { body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength), object } : null;
  }

  async head(key: string): Promise<StoredObjectWithMetadata | null> {
    const info = await fileStatAt(this.pathOf(key));
    if (!info) return null;
    const stored = await readFile(this.metadataPathOf(key), 'utf8').catch(missingAsNull);
    const { contentType, metadata = {} } = stored ? (JSON.parse(stored) as PutOptions) : {};
    return { ...objectOf(key, info), ...(contentType ? { contentType } : {}), metadata };
  }

  async getRange(key: string, start: number, end: number): Promise<Uint8Array | null> {
    const file = await open(this.pathOf(key), 'r').catch(missingAsNull);
    if (!file) return null;
    try {
      if (!(await file.stat()).isFile()) return null;
      const buffer = Buffer.alloc(Math.max(0, end - start));
      const { bytesRead } = await file.read(buffer, 0, buffer.length, start);
      return new Uint8Array(buffer.buffer, buffer.byteOffset, bytesRead);
    } finally {
      await file.close();
    }
  }

  async getStream(key: string): Promise<AsyncIterable<Uint8Array> | null> {
    const file = await open(this.pathOf(key), 'r').catch(missingAsNull);
    if (!file) return null;
    if (!(await file.stat().catch(() => null))?.isFile()) {
      await file.close();
      return null;
    }
    // The stream owns the open file, so an object deleted meanwhile is still read whole.
    return createReadStream('', { fd: file, highWaterMark: 1024 * 1024 });
  }

  async presignPut(key: string, options: PresignPutOptions): Promise<PresignedPut> {
    this.pathOf(key);
    if (!this.options.uploadBaseUrl) throw new Error('This directory store has no upload server (uploadBaseUrl)');
    const expires = Math.floor(Date.now() / 1000) + options.expiresInSeconds;
    const url = signedUploadUrl(this.options.uploadBaseUrl(), await this.secret(), {
      key,
      contentType: options.contentType,
      size: options.size,
      expires,
      ...(options.sha256 ? { sha256: base64OfHexSha256(options.sha256) } : {}),
    });
    return {
      url,
      method: 'PUT',
      headers: presignedPutHeaders(options),
      expiresAt: new Date(expires * 1000).toISOString(),
    };
  }

  async presignGet(
    key: string,
    { expiresInSeconds, responseContentType, responseContentEncoding }: PresignGetOptions,
  ): Promise<PresignedGet> {
    this.pathOf(key);
    if (!this.options.uploadBaseUrl) throw new Error('This directory store has no server for signed URLs (uploadBaseUrl)');
    const expires = Math.floor(Date.now() / 1000) + expiresInSeconds;
    const overrides = {
      ...(responseContentType ? { contentType: responseContentType } : {}),
      ...(responseContentEncoding ? { contentEncoding: responseContentEncoding } : {}),
    };
    const url = signedDownloadUrl(this.options.uploadBaseUrl(), await this.secret(), { key, expires, overrides });
    return { url, method: 'GET', expiresAt: new Date(expires * 1000).toISOString() };
  }

  /** The object a presigned GET names, or why it is refused (404 when it is not there, as S3 answers). */
  async readSignedDownload(request: {
    path: string;
    query: URLSearchParams;
  }): Promise<{ body: Uint8Array; contentType?: string; contentEncoding?: string } | UploadRefusal> {
    const checked = checkSignedDownload(await this.secret(), { ...request, now: Date.now() });
    if ('status' in checked) return checked;
    let stored: Awaited<ReturnType<DirectoryObjectStore['get']>>;
    try {
      stored = await this.get(checked.key);
    } catch {
      return { status: 400, message: 'Invalid download URL', error: 'The URL names no valid key' };
    }
    if (!stored) return { status: 404, message: 'Not found', error: 'The object does not exist' };
    const contentType = checked.overrides.contentType ?? stored.object.contentType;
    return {
      body: stored.body,
      ...(contentType ? { contentType } : {}),
      ...(checked.overrides.contentEncoding ? { contentEncoding: checked.overrides.contentEncoding } : {}),
    };
  }

  /**
   * Writes a signed upload's body to its key, or refuses it without reading the body. The body must hold
   * exactly the signed size, and the signed SHA-256 if any (else 400 BadDigest, as S3 answers), else
   * nothing is stored; the object is announced like any other put.
   */
  async acceptSignedUpload(request: SignedUploadRequest): Promise<{ object: StoredObject } | UploadRefusal> {
    const checked = checkSignedUpload(await this.secret(), { ...request, now: Date.now() });
    if (isRefusal(checked)) return checked;
    try {
      this.pathOf(checked.key);
    } catch {
      return { status: 400, message: 'Invalid upload URL', error: 'The upload URL names no valid key' };
    }
    try {
      const body = exactly(request.body, checked.size);
      const object = await this.putStream(checked.key, checked.sha256 ? digestChecked(body, checked.sha256) : body, {
        contentType: checked.contentType,
      });
      return { object };
    } catch (error) {
      if (!(error instanceof BadDigestError)) throw error;
      return { status: 400, message: 'Upload refused', error: error.message };
    }
  }

  /** The upload signing key: made once (0600) in the data directory and read from there afterwards. */
  private secret(): Promise<Buffer> {
    this.uploadSecret ??= (async () => {
      const path = join(this.root, UPLOAD_SECRET_FILE);
      await writeFile(path, randomBytes(32), { flag: 'wx', mode: 0o600 }).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
      });
      return readFile(path);
    })().catch((error: unknown) => {
      this.uploadSecret = undefined;
      throw error;
    });
    return this.uploadSecret;
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    const maxKeys = Math.min(Math.max(options.maxKeys ?? MAX_KEYS, 1), MAX_KEYS);
    const after = options.continuationToken ?? options.startAfter;
    const afterBytes = after === undefined ? undefined : Buffer.from(after);
    const baseDir = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/') + 1) : '';
    const keys = (await this.keysUnder(baseDir ? this.pathOf(baseDir.slice(0, -1)) : this.root))
      .filter((key) => key.startsWith(prefix) && (afterBytes === undefined || Buffer.compare(Buffer.from(key), afterBytes) > 0))
      .sort(inKeyOrder);
    const page = keys.slice(0, maxKeys);
    const objects: StoredObject[] = [];
    for (const key of page) {
      // A file removed since the directory was read is left out, as a key deleted during an S3 listing may be.
      const info = await fileStatAt(this.pathOf(key));
      if (info) objects.push(objectOf(key, info));
    }
    return keys.length > maxKeys ? { objects, nextToken: page.at(-1)! } : { objects };
  }

  async delete(keys: readonly string[]): Promise<void> {
    await Promise.all(
      keys.map(async (key) => {
        await rm(this.pathOf(key), { force: true });
        await rm(this.metadataPathOf(key), { force: true });
      }),
    );
  }

  async ping(): Promise<void> {
    await access(this.root, constants.R_OK | constants.W_OK);
  }

  private pathOf(key: string): string {
    // Top-level dot folders hold the store's own files (and the embedded database), never objects.
    if (!SAFE_KEY.test(key) || key.startsWith('/') || key.startsWith('.')) {
      throw new RangeError('object key is not allowed in the directory store');
    }
    const path = resolve(this.root, key);
    if (!path.startsWith(this.root + sep)) throw new RangeError('object key escapes the store');
    return path;
  }

  private metadataPathOf(key: string): string {
    return join(this.root, META_DIR, `${relative(this.root, this.pathOf(key))}.json`);
  }

  /** Every file below `directory` whose key does not start with a dot (the store's own folders). */
  private async keysUnder(directory: string): Promise<string[]> {
    const entries = await readdir(directory, { recursive: true, withFileTypes: true }).catch(missingAsNull);
    return (entries ?? [])
      .filter((entry) => entry.isFile())
      .map((entry) => relative(this.root, join(entry.parentPath, entry.name)).split(sep).join('/'))
      .filter((key) => !key.startsWith('.'));
  }
}

/** The file at `path`, or null when there is none (or something else is there). */
const fileStatAt = async (path: string): Promise<Stats | null> => {
  const info = await stat(path).catch(missingAsNull);
  return info?.isFile() ? info : null;
};

/** Passes the body through, failing it when it holds more or fewer than `size` bytes (a client that hung up). */
async function* exactly(body: AsyncIterable<Uint8Array>, size: number): AsyncIterable<Uint8Array> {
  let received = 0;
  for await (const piece of body) {
    received += piece.byteLength;
    if (received > size) throw new Error(`upload body longer than its signed ${size} bytes`);
    yield piece;
  }
  if (received !== size) throw new Error(`upload body ended after ${received} of its signed ${size} bytes`);
}

class BadDigestError extends Error {}

/** Passes the body through, failing it at its end when its SHA-256 (base64) is not the signed one: nothing is published. */
async function* digestChecked(body: AsyncIterable<Uint8Array>, sha256: string): AsyncIterable<Uint8Array> {
  const hash = createHash('sha256');
  for await (const piece of body) {
    hash.update(piece);
    yield piece;
  }
  if (hash.digest('base64') !== sha256) {
    throw new BadDigestError('BadDigest: the body does not have the SHA-256 the upload URL was issued for (x-amz-checksum-sha256)');
  }
}

const objectOf = (key: string, info: Stats): StoredObject => ({ key, size: info.size, lastModified: info.mtime.toISOString() });

/** S3 orders keys by their UTF-8 bytes. */
const inKeyOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

const missingAsNull = (error: NodeJS.ErrnoException): null => {
  if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return null;
  throw error;
};

const syncFile = async (path: string) => {
  const file = await open(path, 'r');
  try {
    await file.sync();
  } finally {
    await file.close();
  }
};
