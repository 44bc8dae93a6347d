/**
 * The object store on Amazon S3. Keys are used as they are, so the bucket has the same layout as the
 * local data directory. Streamed bodies go through @aws-sdk/lib-storage, which switches to a multipart
 * upload past 5 MiB; either way S3 publishes the object only once it is whole.
 */
import { Readable } from 'node:stream';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  PutObjectTaggingCommand,
  type S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import {
  base64OfHexSha256,
  CHECKSUM_SHA256_HEADER,
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
import { translateAwsFailure } from '../aws-failures';
import { s3LocationOf } from './s3-location';

/** S3's own ceiling for one ListObjectsV2 page and one DeleteObjects request. */
const MAX_KEYS = 1000;

export interface S3ObjectStoreOptions {
  /** Tags each new object is written with, by key: what the bucket's lifecycle rules filter on. */
  tagsFor?: (key: string) => Record<string, string> | undefined;
}

export class S3ObjectStore implements ObjectStore {
  /**
   * `presigner` signs upload URLs. Give it a client with `requestChecksumCalculation: 'WHEN_REQUIRED'`: with
   * the default the SDK signs a CRC32 of the empty body into the URL, and S3 refuses every real upload.
   */
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly options: S3ObjectStoreOptions = {},
    private readonly presigner: S3Client = client,
  ) {}

  locationOf(key: string): string {
    return s3LocationOf(this.bucket)(key);
  }

  async put(key: string, body: ObjectBody, options: PutOptions = {}): Promise<StoredObject> {
    const write = () =>
      this.client.send(new PutObjectCommand({ ...this.writeParams(key, options), Body: body })).catch(translateAwsFailure);
    await this.createOrReplace(key, write, write);
    return this.describeWritten(key);
  }

  async putStream(key: string, body: AsyncIterable<ObjectBody>, options: PutOptions = {}): Promise<StoredObject> {
    const upload = new Upload({
      client: this.client,
      // IfNoneMatch travels on the single PUT or on CompleteMultipartUpload, whichever lib-storage ends with.
      params: { ...this.writeParams(key, options), Body: Readable.from(asBuffers(body)) },
    });
    await this.createOrReplace(key, () => upload.done().catch(translateAwsFailure));
    return this.describeWritten(key);
  }

  async get(key: string) {
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key })).catch(translateAwsFailure);
      const body = response.Body ? await response.Body.transformToByteArray() : new Uint8Array();
      const object: StoredObjectWithMetadata = {
        key,
        size: body.byteLength,
        lastModified: isoOf(response.LastModified),
        ...(response.ContentType ? { contentType: response.ContentType } : {}),
        metadata: response.Metadata ?? {},
      };
      return { body, object };
    } catch (error) {
      if (isMissing(error)) return null;
      return translateAwsFailure(error);
    }
  }

  async head(key: string): Promise<StoredObjectWithMetadata | null> {
    try {
      const response = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key })).catch(translateAwsFailure);
      return {
        key,
        size: response.ContentLength ?? 0,
        lastModified: isoOf(response.LastModified),
        ...(response.ContentType ? { contentType: response.ContentType } : {}),
        metadata: response.Metadata ?? {},
      };
    } catch (error) {
      if (isMissing(error)) return null;
      return translateAwsFailure(error);
    }
  }

  async getRange(key: string, start: number, end: number): Promise<Uint8Array | null> {
    if (end <= start) return new Uint8Array();
    try {
      const response = await this.client
        .send(new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: `bytes=${start}-${end - 1}` }))
        .catch(translateAwsFailure);
      return response.Body ? await response.Body.transformToByteArray() : new Uint8Array();
    } catch (error) {
      if (isMissing(error)) return null;
      // A range that starts past the end of the object: nothing there to read.
      if (statusOf(error) === 416) return new Uint8Array();
      return translateAwsFailure(error);
    }
  }

  async getStream(key: string): Promise<AsyncIterable<Uint8Array> | null> {
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key })).catch(translateAwsFailure);
      // In Node the SDK's body is a Readable: read piece by piece, never held whole.
      return (response.Body as AsyncIterable<Uint8Array> | undefined) ?? (async function* () {})();
    } catch (error) {
      if (isMissing(error)) return null;
      return translateAwsFailure(error);
    }
  }

  /**
   * A SigV4 query-string signature over PUT, the key, content-type and content-length (and
   * x-amz-checksum-sha256 when the digest is known): S3 refuses the upload (403 SignatureDoesNotMatch)
   * when a header differs, after the expiry, and (400 BadDigest) when the body has another SHA-256.
   */
  async presignPut(key: string, options: PresignPutOptions): Promise<PresignedPut> {
    // The object's tags travel as a signed header the uploader must send, so lifecycle rules see it as written here.
    const tags = this.options.tagsFor?.(key);
    const tagging = tags ? new URLSearchParams(tags).toString() : undefined;
    const checksum = options.sha256 ? base64OfHexSha256(options.sha256) : undefined;
    const command = new PutObjectCommand({
      Bucket: this.bucket,
      Key: key,
      ContentType: options.contentType,
      ContentLength: options.size,
      ...(tagging ? { Tagging: tagging } : {}),
      ...(checksum ? { ChecksumSHA256: checksum } : {}),
    });
    // x-amz-* headers left hoistable would move into the query, where the uploader need not send them.
    const unhoistable = [...(tagging ? ['x-amz-tagging'] : []), ...(checksum ? [CHECKSUM_SHA256_HEADER] : [])];
    const url = await getSignedUrl(this.presigner, command, {
      expiresIn: options.expiresInSeconds,
      signableHeaders: new Set(['content-type', 'content-length', ...unhoistable]),
      ...(unhoistable.length ? { unhoistableHeaders: new Set(unhoistable) } : {}),
    });
    return {
      url,
      method: 'PUT',
      headers: presignedPutHeaders(options, tagging ? { 'x-amz-tagging': tagging } : {}),
      expiresAt: new Date(Date.now() + options.expiresInSeconds * 1000).toISOString(),
    };
  }

  /** A SigV4 query-string signature over GET and the key: S3 authorizes the read as this role, until the expiry. */
  async presignGet(
    key: string,
    { expiresInSeconds, responseContentType, responseContentEncoding }: PresignGetOptions,
  ): Promise<PresignedGet> {
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: key,
      ...(responseContentType ? { ResponseContentType: responseContentType } : {}),
      ...(responseContentEncoding ? { ResponseContentEncoding: responseContentEncoding } : {}),
    });
    const url = await getSignedUrl(this.presigner, command, { expiresIn: expiresInSeconds });
    return { url, method: 'GET', expiresAt: new Date(Date.now() + expiresInSeconds * 1000).toISOString() };
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    const response = await this.client
      .send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: prefix,
          MaxKeys: Math.min(Math.max(options.maxKeys ?? MAX_KEYS, 1), MAX_KEYS),
          ...(options.continuationToken
            ? { ContinuationToken: options.continuationToken }
            : options.startAfter
              ? { StartAfter: options.startAfter }
              : {}),
        }),
      )
      .catch(translateAwsFailure);
    const objects = (response.Contents ?? []).map((entry) => ({
      key: entry.Key!,
      size: entry.Size ?? 0,
      lastModified: isoOf(entry.LastModified),
    }));
    return response.IsTruncated && response.NextContinuationToken ? { objects, nextToken: response.NextContinuationToken } : { objects };
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (let start = 0; start < keys.length; start += MAX_KEYS) {
      const batch = keys.slice(start, start + MAX_KEYS);
      const response = await this.client
        .send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
        )
        .catch(translateAwsFailure);
      // DeleteObjects answers 200 even when some keys failed; those are listed in Errors.
      const failed = response.Errors ?? [];
      if (failed.length > 0) {
        throw new Error(`could not delete ${failed.length} object(s): ${failed.map((entry) => entry.Code).join(', ')}`);
      }
    }
  }

  async setTags(key: string, tags: Record<string, string>): Promise<void> {
    await this.client
      .send(
        new PutObjectTaggingCommand({
          Bucket: this.bucket,
          Key: key,
          Tagging: { TagSet: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
        }),
      )
      .catch(translateAwsFailure);
  }

  async ping(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.bucket })).catch(translateAwsFailure);
  }

  private writeParams(key: string, options: PutOptions) {
    const tags = this.options.tagsFor?.(key);
    return {
      ...(tags ? { Tagging: new URLSearchParams(tags).toString() } : {}),
      Bucket: this.bucket,
      Key: key,
      ...(options.contentType ? { ContentType: options.contentType } : {}),
      ...(options.metadata ? { Metadata: options.metadata } : {}),
      ...(options.ifAbsent ? { IfNoneMatch: '*' } : {}),
    };
  }

  /**
   * 412 means the key exists. 409 (ConditionalRequestConflict) means another conditional write to the
   * key was in flight, and S3 asks for a retry: a buffered body is sent once more, a consumed stream
   * cannot be, so that failure goes to the caller.
   */
  private async createOrReplace(key: string, write: () => Promise<unknown>, retry?: () => Promise<unknown>): Promise<void> {
    try {
      await write();
    } catch (error) {
      if (statusOf(error) === 412) throw new ObjectAlreadyExistsError(key);
      if (statusOf(error) === 409 && retry) return this.createOrReplace(key, retry);
      throw error;
    }
  }

  /** Size and timestamp as S3 recorded them, so callers see the same values a later head or list shows. */
  private async describeWritten(key: string): Promise<StoredObject> {
    const object = await this.head(key);
    if (!object) throw new Error(`object vanished right after it was written: ${key}`);
    return { key, size: object.size, lastModified: object.lastModified };
  }
}

async function* asBuffers(body: AsyncIterable<ObjectBody>): AsyncIterable<Buffer> {
  for await (const piece of body) {
    yield typeof piece === 'string' ? Buffer.from(piece) : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
  }
}

const isoOf = (date: Date | undefined) => (date ?? new Date(0)).toISOString();

const statusOf = (error: unknown): number | undefined =>
  error instanceof S3ServiceException
    ? error.$metadata.httpStatusCode
    : (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;

const isMissing = (error: unknown) => {
  const name = (error as { name?: string } | null)?.name;
  return name === 'NoSuchKey' || name === 'NotFound' || statusOf(error) === 404;
};
