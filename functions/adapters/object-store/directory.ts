/**
 * The object store as a directory: key `a/b/c.txt` is the file `<root>/a/b/c.txt`, so the data
 * directory is laid out exactly like the S3 bucket. Content type and user metadata live in
 * `<root>/.meta/<key>.json`; temporary files in `<root>/.tmp`, on the same filesystem so a rename
 * publishes a finished file at once.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream, type Stats } from 'node:fs';
import { access, constants, link, mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  type ListOptions,
  type ListPage,
  ObjectAlreadyExistsError,
  type ObjectBody,
  type ObjectStore,
  type PutOptions,
  type StoredObject,
  type StoredObjectWithMetadata,
} from '../../core/ports/object-store';
import { errorCodeOf, failureTranslator } from '../unreachable';

const MAX_KEYS = 1000;
const META_DIR = '.meta';
const TMP_DIR = '.tmp';
/** Keys S3 would accept that could still escape or alias a path: no empty, dot or dot-dot segments, no backslash or NUL. */
const SAFE_KEY = /^(?!.*(?:^|\/)\.{0,2}(?:\/|$))[^\\\0]+$/;
/** A full disk is the store being unavailable, as S3 failing would be, not a fault of the request. */
const DISK_FULL_CODES = new Set(['ENOSPC', 'EDQUOT']);
const translateDiskFailure = failureTranslator((error) => DISK_FULL_CODES.has(errorCodeOf(error)));

export interface DirectoryObjectStoreOptions {
  /** Called after an object is published, as S3 sends ObjectCreated notifications. */
  onObjectCreated?: (object: StoredObject) => void;
}

export class DirectoryObjectStore implements ObjectStore {
  private readonly root: string;

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
