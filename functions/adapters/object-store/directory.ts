/**
 * The object store as a directory: key `a/b/c.txt` is the file `<root>/a/b/c.txt`, so the data
 * directory is laid out exactly like the S3 bucket. Content type and user metadata live in
 * `<root>/.meta/<key>.json`; temporary files in `<root>/.tmp`, on the same filesystem so a rename
 * publishes a finished file at once.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream, readFileSync, statSync, type Stats } from 'node:fs';
import { link, mkdir, open, readFile, rename, rm, unlink, writeFile, access, constants } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  ObjectAlreadyExistsError,
  type ListOptions,
  type ListPage,
  type ObjectBody,
  type ObjectStore,
  type PutOptions,
  type StoredObject,
  type StoredObjectWithMetadata,
} from '../../core/ports/object-store';
import { BoundedMap } from './bounded-map';
import { errorCodeOf, failureTranslator } from '../unreachable';
import { DirectoryListings, type ListedFile } from './directory-listings';
import { sharedPerTurn } from './shared-per-turn';

const MAX_KEYS = 1000;
const METADATA_CACHE_ENTRIES = 10_000;
const PATH_CACHE_ENTRIES = 10_000;
const META_DIR = '.meta';
const TMP_DIR = '.tmp';
/** Keys S3 would accept that could still escape or alias a path: no empty, dot or dot-dot segments, no backslash or NUL. */
const SAFE_KEY = /^(?!.*(?:^|\/)\.{0,2}(?:\/|$))[^\\\0]+$/;
/** A full disk is the store being unavailable, as S3 failing would be, not a fault of the request. */
const DISK_FULL_CODES = new Set(['ENOSPC', 'EDQUOT']);
const translateDiskFailure = failureTranslator((error) => DISK_FULL_CODES.has(errorCodeOf(error)));

/** An object's description, with the file size and time it was read at. */
interface CachedMetadata {
  size: number;
  mtimeMs: number;
  described: StoredObjectWithMetadata;
}

export interface DirectoryObjectStoreOptions {
  /** Called after an object is published, as S3 sends ObjectCreated notifications. */
  onObjectCreated?: (object: StoredObject) => void;
}

export class DirectoryObjectStore implements ObjectStore {
  private readonly root: string;
  /** Metadata of recently read objects, checked against the file's size and time before use. */
  private readonly metadataCache = new BoundedMap<string, CachedMetadata>(METADATA_CACHE_ENTRIES);
  /** Paths of keys already checked, so a repeated key skips the checks and the path arithmetic. */
  private readonly paths = new BoundedMap<string, string>(PATH_CACHE_ENTRIES);
  private readonly listings: DirectoryListings;

  constructor(
    root: string,
    private readonly options: DirectoryObjectStoreOptions = {},
  ) {
    this.root = resolve(root);
    this.listings = new DirectoryListings(this.root);
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
    this.metadataCache.delete(key);
    const object = this.describe(key)!;
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
    const info = await this.fileStatAtEndOfTurn(this.pathOf(key));
    if (!info) return null;
    // An object is replaced whole, never edited: the same size and time mean the same metadata.
    const cached = this.metadataCache.get(key);
    if (cached && cached.size === info.size && cached.mtimeMs === info.mtimeMs) return copyOf(cached.described);
    const object = objectOf(key, info);
    const stored = readSmallFile(this.metadataPathOf(key));
    const { contentType, metadata = {} } = stored ? (JSON.parse(stored) as PutOptions) : {};
    const described = { ...object, ...(contentType ? { contentType } : {}), metadata };
    this.metadataCache.set(key, { size: info.size, mtimeMs: info.mtimeMs, described });
    return copyOf(described);
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    const maxKeys = Math.min(Math.max(options.maxKeys ?? MAX_KEYS, 1), MAX_KEYS);
    const after = options.continuationToken ?? options.startAfter;
    const baseDir = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/') + 1) : '';
    const files = await this.listings.filesUnder(baseDir ? this.pathOf(baseDir.slice(0, -1)) : this.root);
    const page: ListedFile[] = [];
    let more = false;
    for (let index = after ? firstIndexAfter(files, Buffer.from(after)) : 0; index < files.length; index += 1) {
      const file = files[index]!;
      if (!file.key.startsWith(prefix)) continue;
      if (page.length === maxKeys) {
        more = true;
        break;
      }
      page.push(file);
    }
    const objects: StoredObject[] = [];
    for (const file of page) {
      if (file.object === undefined) file.object = this.describe(file.key);
      if (file.object) objects.push({ key: file.object.key, size: file.object.size, lastModified: file.object.lastModified });
    }
    return more ? { objects, nextToken: page.at(-1)!.key } : { objects };
  }

  async delete(keys: readonly string[]): Promise<void> {
    await Promise.all(
      keys.map(async (key) => {
        this.metadataCache.delete(key);
        await rm(this.pathOf(key), { force: true });
        await rm(this.metadataPathOf(key), { force: true });
      }),
    );
  }

  async ping(): Promise<void> {
    await access(this.root, constants.R_OK | constants.W_OK);
  }

  private pathOf(key: string): string {
    const known = this.paths.get(key);
    if (known !== undefined) return known;
    // Top-level dot folders hold the store's own files (and the embedded database), never objects.
    if (!SAFE_KEY.test(key) || key.startsWith('/') || key.startsWith('.')) {
      throw new RangeError('object key is not allowed in the directory store');
    }
    const path = resolve(this.root, key);
    if (!path.startsWith(this.root + sep)) throw new RangeError('object key escapes the store');
    this.paths.set(key, path);
    return path;
  }

  private metadataPathOf(key: string): string {
    return join(this.root, META_DIR, `${relative(this.root, this.pathOf(key))}.json`);
  }

  /**
   * Reads of the store's small facts (sizes, times, metadata, directory listings) are synchronous: each
   * asynchronous fs call costs several thread-pool round trips, which made up most of a GET's time
   * (measured with --cpu-prof under autocannon), while these calls take microseconds on a local disk.
   * Object bodies, which can be large, are read and written asynchronously.
   */
  private describe(key: string): StoredObject | null {
    const info = fileStatAt(this.pathOf(key));
    return info && objectOf(key, info);
  }

  /** A file's stat as it is at the end of this turn, read once for all of the turn's head calls of it (shared-per-turn.ts). */
  private readonly fileStatAtEndOfTurn = sharedPerTurn(fileStatAt);
}

/** The file at `path`, or null when there is none (or something else is there). Callers must not change it. */
const fileStatAt = (path: string): Stats | null => {
  const info = statSync(path, { throwIfNoEntry: false });
  return info?.isFile() ? info : null;
};

const objectOf = (key: string, info: Stats): StoredObject => ({ key, size: info.size, lastModified: info.mtime.toISOString() });

/** A copy for the caller, written out: a spread of a cached object takes V8's slow path on every request. */
const copyOf = ({ key, size, lastModified, contentType, metadata }: StoredObjectWithMetadata): StoredObjectWithMetadata =>
  contentType === undefined ? { key, size, lastModified, metadata } : { key, size, lastModified, contentType, metadata };

/** Index of the first file whose key sorts after `after` (binary search: the files are in key order). */
const firstIndexAfter = (files: readonly ListedFile[], after: Buffer): number => {
  let low = 0;
  let high = files.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (Buffer.compare(files[middle]!.bytes, after) > 0) high = middle;
    else low = middle + 1;
  }
  return low;
};

const readSmallFile = (path: string): string | null => {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    return missingAsNull(error as NodeJS.ErrnoException);
  }
};

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
