/**
 * The twin's S3 with its IAM gate: a real s3rver behind the proxy, requests signed by the real AWS SDK
 * with the credentials identity.ts derives for a role, policies evaluated by iam-simulate.
 */
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { S3EventRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGate, type SignedRequest, type TwinGate } from '../../twin/iam/gate';
import { CALLER_CREDENTIALS, credentialsOfRole, type TwinCredentials } from '../../twin/identity';
import { RESOLVE_LOCALHOST_PRELOAD } from '../../twin/lambda/preloads';
import { startS3, type TwinS3 } from '../../twin/s3';
import { loadTemplate, templateFromJson } from '../../twin/template';
import { synthToTemp } from './synth';

/** A template in the shape CDK synthesizes: a TLS-only bucket and two function roles with DefaultPolicies. */
const smallTemplate = {
  Resources: {
    DataBucket1234ABCD: { Type: 'AWS::S3::Bucket', Properties: { BucketEncryption: {} } },
    DataBucketPolicy5678: {
      Type: 'AWS::S3::BucketPolicy',
      Properties: {
        Bucket: { Ref: 'DataBucket1234ABCD' },
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Action: 's3:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
              Effect: 'Deny',
              Principal: { AWS: '*' },
              Resource: [
                { 'Fn::GetAtt': ['DataBucket1234ABCD', 'Arn'] },
                { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['DataBucket1234ABCD', 'Arn'] }, '/*']] },
              ],
            },
          ],
        },
      },
    },
    WriterRoleAAAA1111: {
      Type: 'AWS::IAM::Role',
      Properties: {
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } }],
        },
      },
    },
    WriterRoleDefaultPolicyBBBB2222: {
      Type: 'AWS::IAM::Policy',
      Properties: {
        PolicyName: 'WriterRoleDefaultPolicyBBBB2222',
        Roles: [{ Ref: 'WriterRoleAAAA1111' }],
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Action: 's3:GetObject',
              Effect: 'Allow',
              Resource: [
                { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['DataBucket1234ABCD', 'Arn'] }, '/audio/*']] },
                { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['DataBucket1234ABCD', 'Arn'] }, '/transcripts/*']] },
              ],
            },
            {
              Action: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:DeleteObject'],
              Effect: 'Allow',
              Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['DataBucket1234ABCD', 'Arn'] }, '/transcripts/*']] },
            },
            { Action: 's3:ListBucket', Effect: 'Allow', Resource: { 'Fn::GetAtt': ['DataBucket1234ABCD', 'Arn'] } },
            {
              Action: 's3:PutObjectTagging',
              Effect: 'Allow',
              Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['DataBucket1234ABCD', 'Arn'] }, '/transcripts/tagged/*']] },
            },
          ],
        },
      },
    },
    ReaderRoleCCCC3333: {
      Type: 'AWS::IAM::Role',
      Properties: {
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } }],
        },
      },
    },
    ReaderRoleDefaultPolicyDDDD4444: {
      Type: 'AWS::IAM::Policy',
      Properties: {
        PolicyName: 'ReaderRoleDefaultPolicyDDDD4444',
        Roles: [{ Ref: 'ReaderRoleCCCC3333' }],
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Action: 's3:GetObject',
              Effect: 'Allow',
              Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['DataBucket1234ABCD', 'Arn'] }, '/transcripts/*']] },
            },
          ],
        },
      },
    },
  },
};

const WRITER = 'WriterRoleAAAA1111';
const READER = 'ReaderRoleCCCC3333';
const BUCKET = 'databucket1234abcd';

/** The client a twin function builds: default SDK settings (checksums on), only the endpoint and credentials set. */
const clientFor = (endpoint: string, credentials: TwinCredentials) => new S3Client({ endpoint, region: 'us-east-1', credentials });

const errorOf = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (error) {
    return error as Error & { $metadata?: { httpStatusCode?: number } };
  }
  throw new Error('expected the call to fail');
};

describe('twin S3 behind the IAM gate (hand-written template)', () => {
  const refusals: any[] = [];
  const seen: SignedRequest[] = [];
  let gate: TwinGate;
  let s3: TwinS3;
  let writer: S3Client;
  let reader: S3Client;
  const clients: S3Client[] = [];

  beforeAll(async () => {
    const template = templateFromJson(smallTemplate, { stackName: 'Small' });
    gate = createGate({ template, log: (line) => refusals.push(JSON.parse(line)) });
    // Records what reached the gate, to show which request forms the tests exercised.
    const recording: Pick<TwinGate, 'authorize' | 'allows'> = {
      authorize: (service, request, checks) => {
        seen.push(request);
        return gate.authorize(service, request, checks);
      },
      allows: (principal, service, check) => gate.allows(principal, service, check),
    };
    s3 = await startS3({ gate: recording, bucket: BUCKET });
    writer = clientFor(s3.url, credentialsOfRole(WRITER));
    reader = clientFor(s3.url, credentialsOfRole(READER));
    clients.push(writer, reader);
  });
  afterAll(async () => {
    for (const client of clients) client.destroy();
    await s3?.close();
  });

  it('round-trips bytes exactly, for a buffer and for a streamed (aws-chunked) body', async () => {
    const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31 + 7) % 256));
    await writer.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'transcripts/s1/buffer.bin', Body: bytes }));
    await writer.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'transcripts/s1/stream.bin',
        Body: Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]),
        ContentLength: bytes.length,
      }),
    );
    for (const key of ['transcripts/s1/buffer.bin', 'transcripts/s1/stream.bin']) {
      const got = await writer.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      expect(Buffer.from(await got.Body!.transformToByteArray()).equals(bytes), key).toBe(true);
      // What s3rver stored is the object itself, not the chunk framing.
      const stored = await s3.adminClient().send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      expect(Buffer.from(await stored.Body!.transformToByteArray()).equals(bytes), key).toBe(true);
    }
    expect(seen.some((r) => String(r.headers['content-encoding']).includes('aws-chunked'))).toBe(true);
  });

  it('refuses a body whose CRC32 does not match the checksum the client declared (BadDigest)', async () => {
    const key = 'transcripts/s1/bad-digest.txt';
    const error = await errorOf(writer.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'twin', ChecksumCRC32: 'AAAAAA==' })));
    expect(error.name).toBe('BadDigest');
    expect(error.$metadata?.httpStatusCode).toBe(400);
    expect((await errorOf(writer.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })))).$metadata?.httpStatusCode).toBe(404);
  });

  it('answers AccessDenied for a key outside the role prefix and logs the refusal', async () => {
    const error = await errorOf(writer.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'snapshots/x.json', Body: '{}' })));
    expect(error.name).toBe('AccessDenied');
    expect(error.message).toBe('Access Denied');
    expect(error.$metadata?.httpStatusCode).toBe(403);
    expect(refusals).toContainEqual(
      expect.objectContaining({
        twin: 'refused',
        service: 's3',
        principal: WRITER,
        action: 's3:PutObject',
        resource: `arn:aws:s3:::${BUCKET}/snapshots/x.json`,
      }),
    );
    const readerWrite = await errorOf(reader.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'transcripts/r.txt', Body: 'no' })));
    expect(readerWrite.name).toBe('AccessDenied');
  });

  it('answers S3 error XML for unsigned, wrongly signed and unknown-key requests', async () => {
    const unsigned = await fetch(`${s3.url}/${BUCKET}/transcripts/s1/buffer.bin`);
    expect(unsigned.status).toBe(403);
    const text = await unsigned.text();
    expect(text).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<Error><Code>AccessDenied<\/Code><Message>Access Denied<\/Message><RequestId>[0-9A-F]{16}<\/RequestId><HostId>/,
    );
    expect(text).toContain(`<RequestId>${unsigned.headers.get('x-amz-request-id')}</RequestId>`);

    const wrongSecret = clientFor(s3.url, { ...credentialsOfRole(WRITER), secretAccessKey: 'not-the-secret-not-the-secret-not-the-se' });
    const unknownKey = clientFor(s3.url, { accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey: 'x'.repeat(40) });
    const noToken = clientFor(s3.url, {
      accessKeyId: credentialsOfRole(WRITER).accessKeyId,
      secretAccessKey: credentialsOfRole(WRITER).secretAccessKey,
    });
    clients.push(wrongSecret, unknownKey, noToken);
    expect((await errorOf(wrongSecret.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'transcripts/s1/buffer.bin' })))).name).toBe(
      'SignatureDoesNotMatch',
    );
    expect((await errorOf(unknownKey.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'transcripts/s1/buffer.bin' })))).name).toBe(
      'InvalidAccessKeyId',
    );
    expect((await errorOf(noToken.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'transcripts/s1/buffer.bin' })))).name).toBe(
      'InvalidToken',
    );
    // The caller's key is valid but its policy only invokes the API.
    const caller = clientFor(s3.url, CALLER_CREDENTIALS);
    clients.push(caller);
    expect((await errorOf(caller.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'transcripts/s1/buffer.bin' })))).name).toBe(
      'AccessDenied',
    );
  });

  it('verifies presigned (query-form) URLs and refuses expired ones', async () => {
    const signer = new SignatureV4({
      credentials: credentialsOfRole(WRITER),
      region: 'us-east-1',
      service: 's3',
      sha256: Hash.bind(null, 'sha256'),
      uriEscapePath: false,
    });
    const port = Number(new URL(s3.url).port);
    // As @aws-sdk/s3-request-presigner does: the payload is UNSIGNED-PAYLOAD, and that header stays out of the URL.
    const request = {
      method: 'GET',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port,
      path: `/${BUCKET}/transcripts/s1/buffer.bin`,
      query: {},
      headers: { host: `127.0.0.1:${port}`, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    };
    const s3Style = { unsignableHeaders: new Set(['x-amz-content-sha256']), unhoistableHeaders: new Set(['x-amz-content-sha256']) };
    const urlOf = (signed: { path: string; query?: Record<string, any> }) =>
      `${s3.url}${signed.path}?${Object.entries(signed.query ?? {})
        .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
        .join('&')}`;
    const fresh = await signer.presign(request, { ...s3Style, expiresIn: 300 });
    const ok = await fetch(urlOf(fresh));
    expect(ok.status).toBe(200);
    expect((await ok.arrayBuffer()).byteLength).toBe(70_000);
    const old = await signer.presign(request, { ...s3Style, expiresIn: 60, signingDate: new Date(Date.now() - 3600_000) });
    const expired = await fetch(urlOf(old));
    expect(expired.status).toBe(403);
    expect(await expired.text()).toContain('<Message>Request has expired</Message>');
  });

  it('answers 404 NoSuchKey for a missing key with s3:ListBucket, 403 AccessDenied without', async () => {
    const missing = { Bucket: BUCKET, Key: 'transcripts/none/missing.txt' };
    const withList = await errorOf(writer.send(new GetObjectCommand(missing)));
    expect(withList.name).toBe('NoSuchKey');
    expect(withList.$metadata?.httpStatusCode).toBe(404);
    const withoutList = await errorOf(reader.send(new GetObjectCommand(missing)));
    expect(withoutList.name).toBe('AccessDenied');
    expect(withoutList.$metadata?.httpStatusCode).toBe(403);
    expect((await errorOf(writer.send(new HeadObjectCommand(missing)))).$metadata?.httpStatusCode).toBe(404);
    expect((await errorOf(reader.send(new HeadObjectCommand(missing)))).$metadata?.httpStatusCode).toBe(403);
    // An existing object stays readable for the reader.
    const head = await reader.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'transcripts/s1/buffer.bin' }));
    expect(head.ContentLength).toBe(70_000);
  });

  it('checks s3:ListBucket for listings and HeadBucket', async () => {
    const listed = await writer.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'transcripts/s1/' }));
    expect(listed.Contents?.map((c) => c.Key)).toEqual(['transcripts/s1/buffer.bin', 'transcripts/s1/stream.bin']);
    await writer.send(new HeadBucketCommand({ Bucket: BUCKET }));
    expect((await errorOf(reader.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'transcripts/' })))).name).toBe('AccessDenied');
    expect((await errorOf(reader.send(new HeadBucketCommand({ Bucket: BUCKET })))).$metadata?.httpStatusCode).toBe(403);
  });

  it('emits ObjectCreated:Put with the key URL-encoded as S3 does', async () => {
    const records: S3EventRecord[] = [];
    const created = new Promise<void>((resolve) => {
      const stop = s3.onObjectCreated((record) => {
        records.push(record);
        stop();
        resolve();
      });
    });
    const put = await writer.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'transcripts/s 2/a b+c.txt', Body: 'hello twin' }));
    await created;
    expect(records).toHaveLength(1);
    expect(records[0]!.eventName).toBe('ObjectCreated:Put');
    expect(records[0]!.s3.object.key).toBe('transcripts/s+2/a+b%2Bc.txt');
    expect(decodeURIComponent(records[0]!.s3.object.key.replace(/\+/g, ' '))).toBe('transcripts/s 2/a b+c.txt');
    expect(records[0]!.s3.object.size).toBe(10);
    expect(records[0]!.s3.object.eTag).toBe(put.ETag!.replace(/"/g, ''));
    expect(records[0]!.s3.bucket).toMatchObject({ name: BUCKET, arn: `arn:aws:s3:::${BUCKET}` });
    expect(records[0]!.userIdentity.principalId).toContain(WRITER);
  });

  it('emits ObjectCreated:CompleteMultipartUpload for a lib-storage upload, with the whole size', async () => {
    const records: S3EventRecord[] = [];
    const stop = s3.onObjectCreated((record) => void records.push(record));
    const size = 6 * 1024 * 1024 + 123;
    const bytes = Buffer.alloc(size, 7);
    await new Upload({ client: writer, params: { Bucket: BUCKET, Key: 'transcripts/big/x.bin', Body: Readable.from([bytes]) } }).done();
    await new Promise((resolve) => setImmediate(resolve));
    stop();
    expect(records.map((r) => r.eventName)).toEqual(['ObjectCreated:CompleteMultipartUpload']);
    expect(records[0]!.s3.object.size).toBe(size);
    const got = await writer.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'transcripts/big/x.bin' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(bytes)).toBe(true);
  });

  it('authorizes a write that sets tags, and re-tagging, by s3:PutObjectTagging as S3 does', async () => {
    const tagged = { Bucket: BUCKET, Key: 'transcripts/tagged/1.txt' };
    await writer.send(new PutObjectCommand({ ...tagged, Body: 'text', Tagging: 'retention=expires' }));
    await writer.send(new PutObjectTaggingCommand({ ...tagged, Tagging: { TagSet: [{ Key: 'retention', Value: 'held' }] } }));
    expect((await s3.adminClient().send(new GetObjectTaggingCommand(tagged))).TagSet).toEqual([{ Key: 'retention', Value: 'held' }]);

    // s3:PutObject alone is not enough for a PUT carrying tags, nor for re-tagging.
    const untaggable = { Bucket: BUCKET, Key: 'transcripts/s1/tags.txt' };
    const denied = await errorOf(writer.send(new PutObjectCommand({ ...untaggable, Body: 'text', Tagging: 'retention=expires' })));
    expect(denied.name).toBe('AccessDenied');
    await writer.send(new PutObjectCommand({ ...untaggable, Body: 'text' }));
    const retag = await errorOf(
      writer.send(new PutObjectTaggingCommand({ ...untaggable, Tagging: { TagSet: [{ Key: 'retention', Value: 'held' }] } })),
    );
    expect(retag.name).toBe('AccessDenied');
  });

  it('DeleteObjects deletes the allowed keys and reports the refused ones as AccessDenied', async () => {
    await s3.adminClient().send(new PutObjectCommand({ Bucket: BUCKET, Key: 'audio/s1/1.wav', Body: 'wav' }));
    const result = await writer.send(
      new DeleteObjectsCommand({
        Bucket: BUCKET,
        Delete: { Objects: [{ Key: 'transcripts/s1/stream.bin' }, { Key: 'audio/s1/1.wav' }], Quiet: true },
      }),
    );
    expect(result.Errors).toEqual([expect.objectContaining({ Key: 'audio/s1/1.wav', Code: 'AccessDenied' })]);
    expect(
      (await errorOf(writer.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'transcripts/s1/stream.bin' })))).$metadata?.httpStatusCode,
    ).toBe(404);
    const audio = await writer.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'audio/s1/1.wav' }));
    expect(audio.ContentLength).toBe(3);
  });

  it('serves virtual-host style requests (<bucket>.localhost) with the resolve-localhost preload', async () => {
    await import(pathToFileURL(RESOLVE_LOCALHOST_PRELOAD).href);
    const virtual = clientFor(s3.virtualHostUrl, credentialsOfRole(WRITER));
    clients.push(virtual);
    await virtual.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'transcripts/vh/1.txt', Body: 'virtual' }));
    const got = await virtual.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'transcripts/vh/1.txt' }));
    expect(await got.Body!.transformToString()).toBe('virtual');
    expect(seen.some((r) => String(r.headers.host).startsWith(`${BUCKET}.localhost:`))).toBe(true);
    expect((await errorOf(virtual.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'snapshots/1.json' })))).name).toBe('AccessDenied');
  });

  it('counts allowed calls per principal per service', () => {
    const counts = gate.counts();
    expect(counts[WRITER]!.s3).toBeGreaterThan(5);
    expect(counts[READER]!.s3).toBeGreaterThanOrEqual(1);
  });
});

describe('the synthesized transcribe role through the twin S3', () => {
  let synth: Awaited<ReturnType<typeof synthToTemp>>;
  let s3: TwinS3;
  let client: S3Client;
  let bucket: string;

  beforeAll(async () => {
    synth = await synthToTemp();
    const template = loadTemplate(synth.dir);
    bucket = template.outputs.BucketName!;
    const transcribe = Object.values(template.functions()).find((fn) => fn.logicalId.startsWith('TranscribeAudioChunkFunction'))!;
    s3 = await startS3({ gate: createGate({ template, log: () => {} }), bucket });
    client = clientFor(s3.url, credentialsOfRole(transcribe.roleLogicalId!));
  }, 180_000);
  afterAll(async () => {
    client?.destroy();
    await s3?.close();
    await synth?.remove();
  });

  it('may write transcripts/ but not snapshots/', async () => {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'transcripts/s1/s1_1.txt', Body: 'hello' }));
    expect(
      (await errorOf(client.send(new PutObjectCommand({ Bucket: bucket, Key: 'snapshots/snapshot_20260101_000000.json', Body: '{}' }))))
        .name,
    ).toBe('AccessDenied');
  });

  // DEFECT (fails until fixed): the transcriber writes transcript-details/{session}/{session}_{chunk}.json
  // (ARCHITECTURE.md keys), but lib/function-needs.ts grants it PutObject on transcripts/ only. This test
  // asserts the grant the code needs; it passes once the template grants it.
  it('DEFECT until the grant lands: the transcribe role may s3:PutObject transcript-details/…', async () => {
    const put = await client
      .send(new PutObjectCommand({ Bucket: bucket, Key: 'transcript-details/s1/s1_1.json', Body: '{"words":[]}' }))
      .catch((error: Error) => error);
    expect(put instanceof Error ? `${put.name}: ${put.message}` : 'allowed').toBe('allowed');
  });
});
