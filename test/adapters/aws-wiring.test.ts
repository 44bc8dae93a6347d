/**
 * functions/config.ts on Lambda: with a bucket and a cluster configured it picks the S3 and Data API
 * adapters, and it leaves migrations to the deploy-time trigger instead of every cold start.
 */
import { ExecuteStatementCommand, RDSDataClient } from '@aws-sdk/client-rds-data';
import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDependencies, runsMigrationsAtStart } from '../../functions/config';
import { readSettings } from '../../functions/settings';

const LAMBDA_ENV = {
  AWS_LAMBDA_FUNCTION_NAME: 'InterviewOps-GetSession',
  AWS_REGION: 'us-east-1',
  BUCKET_NAME: 'interview-ops-data',
  DB_CLUSTER_ARN: 'arn:aws:rds:us-east-1:123456789012:cluster:interview-ops',
  DB_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:interview-ops-abc123',
  DB_NAME: 'interview_ops',
};

describe('wiring on Lambda', () => {
  let rds: AwsClientStub<RDSDataClient>;
  let s3: AwsClientStub<S3Client>;
  beforeAll(() => {
    s3 = mockClient(S3Client);
    s3.on(HeadBucketCommand).resolves({});
    rds = mockClient(RDSDataClient);
    rds
      .on(ExecuteStatementCommand)
      .resolves({ records: [[{ longValue: 1 }]], columnMetadata: [{ name: 'ok', label: 'ok', typeName: 'int4' }] });
  });
  afterAll(() => {
    rds.restore();
    s3.restore();
  });

  it('uses S3 and the Data API, and does not migrate at cold start', async () => {
    const deps = await buildDependencies(readSettings(LAMBDA_ENV));
    expect(deps.store.locationOf('transcripts/s/s_1.txt')).toBe('s3://interview-ops-data/transcripts/s/s_1.txt');
    await deps.store.ping();
    expect(s3.commandCalls(HeadBucketCommand)[0]!.args[0].input).toEqual({ Bucket: 'interview-ops-data' });
    expect(rds.commandCalls(ExecuteStatementCommand)).toHaveLength(0);
    expect(await deps.sql.query('SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
    expect(rds.commandCalls(ExecuteStatementCommand)[0]!.args[0].input).toMatchObject({
      resourceArn: LAMBDA_ENV.DB_CLUSTER_ARN,
      secretArn: LAMBDA_ENV.DB_SECRET_ARN,
      database: 'interview_ops',
    });
  });

  it('migrates at start locally and wherever RUN_MIGRATIONS_AT_START says so', () => {
    expect(runsMigrationsAtStart(readSettings({}))).toBe(true);
    expect(runsMigrationsAtStart(readSettings(LAMBDA_ENV))).toBe(false);
    expect(runsMigrationsAtStart(readSettings({ ...LAMBDA_ENV, RUN_MIGRATIONS_AT_START: 'true' }))).toBe(true);
    expect(runsMigrationsAtStart(readSettings({ RUN_MIGRATIONS_AT_START: 'false' }))).toBe(false);
  });
});
