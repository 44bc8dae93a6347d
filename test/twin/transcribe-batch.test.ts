/**
 * The twin's Amazon Transcribe batch (twin/transcribe/batch.ts) driven by the real SDK, as the
 * inserted-chunk function drives it: the IAM gate on the job's ARN, the media read and the output written
 * through the twin's S3 with the caller's own role (so a role without those grants fails the job, as
 * Transcribe does), pocketsphinx behind it, Transcribe's output format, and the job's end announced.
 */
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetTranscriptionJobCommand, StartTranscriptionJobCommand, TranscribeClient } from '@aws-sdk/client-transcribe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTranscribeOutput } from '../../functions/adapters/batch-transcriber/transcribe-output';
import { createGate } from '../../twin/iam/gate';
import { credentialsOfRole } from '../../twin/identity';
import { startS3, type TwinS3 } from '../../twin/s3';
import { templateFromJson } from '../../twin/template';
import { startTranscribeBatch, type TranscribeBatch, type TranscriptionJobEnd } from '../../twin/transcribe/batch';
import { realWav } from '../support/audio-fixtures';

const BUCKET = 'databucket1234abcd';
const bucketArn = { 'Fn::GetAtt': ['DataBucket1234ABCD', 'Arn'] };
const objects = (prefix: string) => ({ 'Fn::Join': ['', [bucketArn, `/${prefix}*`]] });

const role = (id: string, statements: unknown[]) => ({
  [id]: {
    Type: 'AWS::IAM::Role',
    Properties: {
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } }],
      },
    },
  },
  [`${id}Policy`]: {
    Type: 'AWS::IAM::Policy',
    Properties: { PolicyName: `${id}Policy`, Roles: [{ Ref: id }], PolicyDocument: { Version: '2012-10-17', Statement: statements } },
  },
});

/** The inserted-chunk function's grants; one role that may start jobs but not write their output; the seeding admin. */
const template = {
  Resources: {
    DataBucket1234ABCD: { Type: 'AWS::S3::Bucket', Properties: {} },
    ...role('TranscriberRole', [
      { Action: 's3:GetObject', Effect: 'Allow', Resource: [objects('audio/'), objects('transcribe-output/')] },
      { Action: 's3:PutObject', Effect: 'Allow', Resource: objects('transcribe-output/') },
      { Action: 's3:ListBucket', Effect: 'Allow', Resource: bucketArn },
      { Action: ['transcribe:StartTranscriptionJob', 'transcribe:GetTranscriptionJob'], Effect: 'Allow', Resource: '*' },
    ]),
    ...role('NoOutputRole', [
      { Action: 's3:GetObject', Effect: 'Allow', Resource: objects('audio/') },
      { Action: 'transcribe:StartTranscriptionJob', Effect: 'Allow', Resource: '*' },
    ]),
    ...role('SeederRole', [{ Action: 's3:PutObject', Effect: 'Allow', Resource: objects('audio/') }]),
  },
};

let s3: TwinS3;
let batch: TranscribeBatch;
const ended: TranscriptionJobEnd[] = [];
const clients: { destroy(): void }[] = [];
const transcribeAs = (roleId: string) => {
  const client = new TranscribeClient({ endpoint: batch.url, region: 'us-east-1', credentials: credentialsOfRole(roleId) });
  clients.push(client);
  return client;
};
const start = (client: TranscribeClient, name: string, outputKey = `transcribe-output/s/${name}.json`) =>
  client.send(
    new StartTranscriptionJobCommand({
      TranscriptionJobName: name,
      Media: { MediaFileUri: `s3://${BUCKET}/audio/s/1.wav` },
      MediaFormat: 'wav',
      LanguageCode: 'en-US',
      OutputBucketName: BUCKET,
      OutputKey: outputKey,
    }),
  );

beforeAll(async () => {
  const gate = createGate({ template: templateFromJson(template, { stackName: 'Batch' }), log: () => {} });
  s3 = await startS3({ gate, bucket: BUCKET });
  batch = await startTranscribeBatch({ gate, s3Url: s3.url, onJobEnded: (event) => ended.push(event) });
  const seeder = new S3Client({ endpoint: s3.url, region: 'us-east-1', credentials: credentialsOfRole('SeederRole') });
  clients.push(seeder);
  await seeder.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'audio/s/1.wav', Body: realWav('cards/001.wav') }));
});

afterAll(async () => {
  for (const client of clients) client.destroy();
  await batch?.close();
  await s3?.close();
});

describe("the twin's Transcribe batch", () => {
  it('transcribes the media into Transcribe output the adapter reads, and announces the end', { timeout: 120_000 }, async () => {
    const client = transcribeAs('TranscriberRole');
    const started = await start(client, 'interview-ops-chunk-1-a1-000000000001');
    expect(started.TranscriptionJob?.TranscriptionJobStatus).toBe('IN_PROGRESS');
    await batch.settled();
    expect(ended).toContainEqual({
      source: 'aws.transcribe',
      'detail-type': 'Transcribe Job State Change',
      detail: { TranscriptionJobName: 'interview-ops-chunk-1-a1-000000000001', TranscriptionJobStatus: 'COMPLETED' },
    });
    const job = await client.send(new GetTranscriptionJobCommand({ TranscriptionJobName: 'interview-ops-chunk-1-a1-000000000001' }));
    expect(job.TranscriptionJob?.TranscriptionJobStatus).toBe('COMPLETED');
    const output = await s3
      .adminClient()
      .send(new GetObjectCommand({ Bucket: BUCKET, Key: 'transcribe-output/s/interview-ops-chunk-1-a1-000000000001.json' }));
    const transcription = readTranscribeOutput(await output.Body!.transformToByteArray(), 'en-US', 2, 'aws-transcribe');
    expect(transcription.words.length).toBeGreaterThan(0);
    expect(transcription.text).toMatch(/^[A-Z].*\.$/);
  });

  it('refuses a role without transcribe:StartTranscriptionJob, and a reused name', async () => {
    await expect(start(transcribeAs('SeederRole'), 'interview-ops-chunk-9-a1-000000000009')).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
    await expect(start(transcribeAs('TranscriberRole'), 'interview-ops-chunk-1-a1-000000000001')).rejects.toMatchObject({
      name: 'ConflictException',
    });
  });

  it("fails the job when the caller's role may not write the output, as Transcribe does", { timeout: 60_000 }, async () => {
    await start(transcribeAs('NoOutputRole'), 'interview-ops-chunk-2-a1-000000000002');
    await batch.settled();
    expect(ended).toContainEqual({
      source: 'aws.transcribe',
      'detail-type': 'Transcribe Job State Change',
      detail: {
        TranscriptionJobName: 'interview-ops-chunk-2-a1-000000000002',
        TranscriptionJobStatus: 'FAILED',
        FailureReason: expect.stringContaining('AccessDenied'),
      },
    });
  });
});
