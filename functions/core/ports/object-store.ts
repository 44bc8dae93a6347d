/**
 * The object store port: S3 on AWS, a directory locally. Keys follow functions/core/keys.ts.
 */
import { DomainError } from '../errors';

export interface StoredObject {
  key: string;
  size: number;
  /** ISO 8601 UTC. */
  lastModified: string;
}

export interface StoredObjectWithMetadata extends StoredObject {
  contentType?: string;
  metadata: Record<string, string>;
}

export interface PutOptions {
  contentType?: string;
  /** Small string values kept with the object (S3 user metadata: keep the total under 2 KB). */
  metadata?: Record<string, string>;
  /** Create only if absent; a put onto an existing key then fails with ObjectAlreadyExistsError. */
  ifAbsent?: boolean;
}

export type ObjectBody = Uint8Array | string;

export interface ListOptions {
  /** List keys strictly after this one (lexicographic, as S3 sorts). */
  startAfter?: string;
  /** At most this many keys in the page; stores cap it at 1,000. */
  maxKeys?: number;
  /** Token from a previous page's `nextToken`. */
  continuationToken?: string;
}

export interface ListPage {
  objects: StoredObject[];
  /** Present when more keys follow. */
  nextToken?: string;
}

/** The bounds of a presigned upload: exactly this type and size, to one key, until the expiry. */
export interface PresignPutOptions {
  contentType: string;
  /** The exact byte length the upload must have. */
  size: number;
  /** Seconds from now until the URL stops being accepted. */
  expiresInSeconds: number;
  /**
   * The SHA-256 of the bytes to come, hex. When given, the URL signs `x-amz-checksum-sha256` (base64, as S3
   * takes it) and the store refuses a body with another digest (400 BadDigest), storing nothing.
   */
  sha256?: string;
}

/** A URL an uploader PUTs the object's bytes to, without credentials of its own. */
export interface PresignedPut {
  url: string;
  method: 'PUT';
  /** Headers the uploader must send, exactly as given: they are part of the signature. */
  headers: Record<string, string>;
  /** ISO 8601 UTC: requests started after this are refused. */
  expiresAt: string;
}

/** The header a presigned PUT carries its body's SHA-256 in (base64), as S3 names it. */
export const CHECKSUM_SHA256_HEADER = 'x-amz-checksum-sha256';

/** S3 takes the digest in base64; the service stores and compares it in hex. */
export const base64OfHexSha256 = (hex: string): string => Buffer.from(hex, 'hex').toString('base64');

/**
 * The headers the holder of a presigned PUT must send: the signed type and size, any the store signs
 * besides (`signed`), and the digest when one is signed.
 */
export const presignedPutHeaders = (options: PresignPutOptions, signed: Record<string, string> = {}): Record<string, string> => ({
  'content-type': options.contentType,
  'content-length': String(options.size),
  ...signed,
  ...(options.sha256 ? { [CHECKSUM_SHA256_HEADER]: base64OfHexSha256(options.sha256) } : {}),
});

export interface PresignGetOptions {
  expiresInSeconds: number;
  /**
   * Headers the answer carries instead of the object's own (S3's response-content-* overrides, signed into
   * the URL): a gzipped object served as `contentType` with `Content-Encoding: gzip` reaches an HTTP
   * client (a browser, fetch) already decoded.
   */
  responseContentType?: string;
  responseContentEncoding?: 'gzip';
}

/** A URL that reads one object without credentials of its own, until it expires. */
export interface PresignedGet {
  url: string;
  method: 'GET';
  /** ISO 8601 UTC: requests started after this are refused. */
  expiresAt: string;
}

export interface ObjectStore {
  put(key: string, body: ObjectBody, options?: PutOptions): Promise<StoredObject>;
  /** Writes a body produced piece by piece; readers see either no object or the whole one. */
  putStream(key: string, body: AsyncIterable<ObjectBody>, options?: PutOptions): Promise<StoredObject>;
  get(key: string): Promise<{ body: Uint8Array; object: StoredObjectWithMetadata } | null>;
  head(key: string): Promise<StoredObjectWithMetadata | null>;
  /** Bytes [start, end) of the object, fewer when it is shorter; null when it does not exist. Reads only that range. */
  getRange(key: string, start: number, end: number): Promise<Uint8Array | null>;
  /** The object's bytes piece by piece, for reading objects too big to hold (hashing one); null when it does not exist. */
  getStream(key: string): Promise<AsyncIterable<Uint8Array> | null>;
  /** A URL that lets its holder write this one key once, with the given type and size, until it expires. */
  presignPut(key: string, options: PresignPutOptions): Promise<PresignedPut>;
  /** A URL that lets its holder read this one key until it expires (the signer must be allowed to read it). */
  presignGet(key: string, options: PresignGetOptions): Promise<PresignedGet>;
  /** One page of keys under `prefix`, in ascending key order: one list request. */
  list(prefix: string, options?: ListOptions): Promise<ListPage>;
  delete(keys: readonly string[]): Promise<void>;
  /**
   * Replaces an object's tags (S3 object tagging, which lifecycle rules filter on). Stores without
   * lifecycle rules leave it out: locally the retention sweep deletes instead.
   */
  setTags?(key: string, tags: Record<string, string>): Promise<void>;
  /** Where the object lives, as shown to callers in `file_path`. */
  locationOf(key: string): string;
  /** A cheap round trip that fails when the store cannot be reached. */
  ping(): Promise<void>;
}

/** A conflict core can tell apart: a create-if-absent put onto a key that exists. */
export class ObjectAlreadyExistsError extends DomainError {
  constructor(readonly key: string) {
    super('conflict', 'Already exists', 'The object already exists');
    this.name = 'ObjectAlreadyExistsError';
  }
}

/** Every key under a prefix, page by page. */
export async function* listAll(store: ObjectStore, prefix: string, options: Omit<ListOptions, 'continuationToken'> = {}) {
  let continuationToken: string | undefined;
  do {
    const page = await store.list(prefix, { ...options, continuationToken });
    yield* page.objects;
    continuationToken = page.nextToken;
  } while (continuationToken);
}
