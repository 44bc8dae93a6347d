/**
 * The S3 adapter's contract against the twin's S3 (twin/s3): s3rver behind a proxy that verifies SigV4,
 * query-string signatures included, and asks the IAM gate. s3rver alone takes any presigned PUT, so this
 * run is where the presigned URL's bounds (key, type, size, expiry, signature) are proven for S3. The
 * clients are configured as functions/config.ts configures them on Lambda.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { S3ObjectStore } from '../../../functions/adapters/object-store/s3';
import { createGate } from '../../../twin/iam/gate';
import { credentialsOfRole } from '../../../twin/identity';
import { startS3 } from '../../../twin/s3';
import { templateFromJson } from '../../../twin/template';
import { describeObjectStoreContract } from './object-store.contract';

const BUCKET = 'databucket1234abcd';
const ROLE = 'StoreRoleAAAA1111';
const bucketArn = { 'Fn::GetAtt': ['DataBucket1234ABCD', 'Arn'] };

/** One bucket and one role that may do anything with its objects. */
const template = {
  Resources: {
    DataBucket1234ABCD: { Type: 'AWS::S3::Bucket', Properties: {} },
    [ROLE]: {
      Type: 'AWS::IAM::Role',
      Properties: {
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } }],
        },
      },
    },
    StoreRoleDefaultPolicyBBBB2222: {
      Type: 'AWS::IAM::Policy',
      Properties: {
        PolicyName: 'StoreRoleDefaultPolicyBBBB2222',
        Roles: [{ Ref: ROLE }],
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [{ Action: 's3:*', Effect: 'Allow', Resource: [bucketArn, { 'Fn::Join': ['', [bucketArn, '/*']] }] }],
        },
      },
    },
  },
};

describeObjectStoreContract(
  "S3 (the twin's S3: SigV4 and IAM)",
  async () => {
    const gate = createGate({ template: templateFromJson(template, { stackName: 'Store' }), log: () => {} });
    const s3 = await startS3({ gate, bucket: BUCKET });
    const credentials = credentialsOfRole(ROLE);
    const clients = [
      new S3Client({ endpoint: s3.url, region: 'us-east-1', credentials }),
      new S3Client({ endpoint: s3.url, region: 'us-east-1', credentials, requestChecksumCalculation: 'WHEN_REQUIRED' }),
    ] as const;
    return {
      store: new S3ObjectStore(clients[0], BUCKET, {}, clients[1]),
      unreachable: new S3ObjectStore(clients[0], 'no-such-bucket', {}, clients[1]),
      expectedLocation: (key) => `s3://${BUCKET}/${key}`,
      stop: async () => {
        for (const client of clients) client.destroy();
        await s3.close();
      },
    };
  },
  { checksUploadBounds: true },
);
