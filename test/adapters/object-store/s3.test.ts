/**
 * The S3 adapter against s3rver on loopback (the contract), plus what s3rver cannot show: DeleteObjects
 * batching and partial failures, over aws-sdk-client-mock.
 */
import {
  DeleteObjectsCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../../functions/adapters/object-store/s3';
import { objectTagsFor } from '../../../functions/core/lifecycle/retention-tags';
import { ObjectAlreadyExistsError } from '../../../functions/core/ports/object-store';
import { describeObjectStoreContract } from './object-store.contract';
import { startS3rver } from './s3rver/s3rver-process';

describeObjectStoreContract(
  'S3 (s3rver)',
  async () => {
    const s3rver = await startS3rver();
    return {
      store: new S3ObjectStore(s3rver.client(), s3rver.bucket),
      unreachable: new S3ObjectStore(s3rver.client(), 'no-such-bucket'),
      expectedLocation: (key) => `s3://${s3rver.bucket}/${key}`,
      stop: () => s3rver.stop(),
    };
  },
  { checksUploadBounds: false },
);

describe('S3ObjectStore past the multipart threshold (s3rver)', () => {
  let s3rver: Awaited<ReturnType<typeof startS3rver>>;
  beforeAll(async () => {
    s3rver = await startS3rver();
  });
  afterAll(() => s3rver.stop());

  it('streams a body over 5 MiB as a multipart upload, and keeps create-if-absent on its completion', async () => {
    const store = new S3ObjectStore(s3rver.client(), s3rver.bucket);
    const piece = new Uint8Array(256 * 1024).fill(7);
    async function* sixMiB() {
      for (let index = 0; index < 24; index += 1) yield piece;
    }
    const written = await store.putStream('snapshots/large.json', sixMiB(), { ifAbsent: true, contentType: 'application/json' });
    expect(written.size).toBe(6 * 1024 * 1024);
    await expect(store.putStream('snapshots/large.json', sixMiB(), { ifAbsent: true })).rejects.toBeInstanceOf(ObjectAlreadyExistsError);
    const head = await store.head('snapshots/large.json');
    expect(head).toMatchObject({ size: 6 * 1024 * 1024, contentType: 'application/json' });
  });
});

describe('S3ObjectStore tags (s3rver)', () => {
  let s3rver: Awaited<ReturnType<typeof startS3rver>>;
  beforeAll(async () => {
    s3rver = await startS3rver();
  });
  afterAll(() => s3rver.stop());

  it('replaces an object tag set, which a lifecycle rule filters on', async () => {
    const store = new S3ObjectStore(s3rver.client(), s3rver.bucket);
    await store.put('audio/s1/1.wav', 'wav');
    await store.setTags('audio/s1/1.wav', { retention: 'held' });
    const tags = await s3rver.client().send(new GetObjectTaggingCommand({ Bucket: s3rver.bucket, Key: 'audio/s1/1.wav' }));
    expect(tags.TagSet).toEqual([{ Key: 'retention', Value: 'held' }]);
  });
});

describe('S3ObjectStore writes with tags', () => {
  let s3: AwsClientStub<S3Client>;
  beforeAll(() => {
    s3 = mockClient(S3Client);
  });
  afterEach(() => s3.reset());
  afterAll(() => s3.restore());

  it('writes per-session objects tagged to expire, and others untagged', async () => {
    s3.on(PutObjectCommand).resolves({});
    s3.on(PutObjectTaggingCommand).resolves({});
    s3.on(HeadObjectCommand).resolves({ ContentLength: 1, LastModified: new Date('2024-01-01T00:00:00Z'), Metadata: {} });
    const store = new S3ObjectStore(new S3Client({}), 'bucket', { tagsFor: objectTagsFor });
    await store.put('transcripts/s1/s1_1.txt', 'x');
    await store.put('snapshots/snapshot_20240101_000000.json', '{}');
    const tagging = s3.commandCalls(PutObjectCommand).map((call) => [call.args[0].input.Key, call.args[0].input.Tagging]);
    expect(tagging).toEqual([
      ['transcripts/s1/s1_1.txt', 'retention=expires'],
      ['snapshots/snapshot_20240101_000000.json', undefined],
    ]);
    await store.setTags('transcripts/s1/s1_1.txt', { retention: 'held' });
    expect(s3.commandCalls(PutObjectTaggingCommand)[0]!.args[0].input.Tagging).toEqual({ TagSet: [{ Key: 'retention', Value: 'held' }] });
  });
});

describe('S3ObjectStore conditional writes', () => {
  let s3: AwsClientStub<S3Client>;
  beforeAll(() => {
    s3 = mockClient(S3Client);
  });
  afterEach(() => s3.reset());
  afterAll(() => s3.restore());

  const conflict = () =>
    Object.assign(new Error('A conflicting conditional operation is currently in progress'), {
      name: 'ConditionalRequestConflict',
      $metadata: { httpStatusCode: 409 },
    });

  it('sends a buffered body again when S3 reports a concurrent conditional write (409)', async () => {
    s3.on(PutObjectCommand).rejectsOnce(conflict()).resolves({});
    s3.on(HeadObjectCommand).resolves({ ContentLength: 2, LastModified: new Date('2024-01-01T00:00:00Z'), Metadata: {} });
    const written = await new S3ObjectStore(new S3Client({ region: 'us-east-1' }), 'bucket').put('audio/s/1.wav', 'ok', { ifAbsent: true });
    expect(written).toEqual({ key: 'audio/s/1.wav', size: 2, lastModified: '2024-01-01T00:00:00.000Z' });
    const puts = s3.commandCalls(PutObjectCommand);
    expect(puts).toHaveLength(2);
    expect(puts.map((call) => call.args[0].input.IfNoneMatch)).toEqual(['*', '*']);
  });

  it('reports the retried write losing as ObjectAlreadyExistsError (412)', async () => {
    const exists = Object.assign(new Error('At least one of the pre-conditions you specified did not hold'), {
      name: 'PreconditionFailed',
      $metadata: { httpStatusCode: 412 },
    });
    s3.on(PutObjectCommand).rejectsOnce(conflict()).rejects(exists);
    await expect(
      new S3ObjectStore(new S3Client({ region: 'us-east-1' }), 'bucket').put('audio/s/1.wav', 'ok', { ifAbsent: true }),
    ).rejects.toBeInstanceOf(ObjectAlreadyExistsError);
  });
});

describe('S3ObjectStore.delete', () => {
  // mockClient patches every S3Client, so it is installed only for these tests, after the contract has run.
  let s3: AwsClientStub<S3Client>;
  beforeAll(() => {
    s3 = mockClient(S3Client);
  });
  afterEach(() => s3.reset());
  afterAll(() => s3.restore());

  it('sends at most 1,000 keys per DeleteObjects request', async () => {
    s3.on(DeleteObjectsCommand).resolves({});
    const keys = Array.from({ length: 2_345 }, (_, index) => `snapshots/snapshot_${index}.json`);
    await new S3ObjectStore(new S3Client({ region: 'us-east-1' }), 'bucket').delete(keys);
    const batches = s3.commandCalls(DeleteObjectsCommand).map((call) => call.args[0].input.Delete!.Objects!.map((object) => object.Key));
    expect(batches.map((batch) => batch.length)).toEqual([1000, 1000, 345]);
    expect(batches.flat()).toEqual(keys);
  });

  it('fails when S3 reports keys it could not delete', async () => {
    s3.on(DeleteObjectsCommand).resolves({ Errors: [{ Key: 'a', Code: 'AccessDenied', Message: 'Access Denied' }] });
    await expect(new S3ObjectStore(new S3Client({ region: 'us-east-1' }), 'bucket').delete(['a'])).rejects.toThrow(/AccessDenied/);
  });
});
