import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventFunctions } from '../../functions/routes';
import { loadTemplate, type TwinTemplate, templateFromJson } from '../../twin/template';
import { synthToTemp } from './synth';

describe('loadTemplate on a real synth of this project', () => {
  let synth: Awaited<ReturnType<typeof synthToTemp>>;
  let template: TwinTemplate;
  beforeAll(async () => {
    synth = await synthToTemp();
    template = loadTemplate(synth.dir);
  }, 180_000);
  afterAll(() => synth?.remove());

  it('finds the stack through manifest.json', () => {
    expect(template.stackName).toBe('InterviewOps');
    expect(template.templateFile).toBe(join(synth.dir, 'InterviewOps.template.json'));
  });

  it('leaves no intrinsic function unresolved in Resources or Outputs', () => {
    const text = JSON.stringify({ resources: template.resources, outputs: template.outputs });
    expect(text).not.toContain('{"Ref"');
    expect(text).not.toContain('"Fn::');
    expect(text).not.toContain('${');
    // The raw template does have them: the check above is not vacuous.
    const rawText = JSON.stringify(JSON.parse(readFileSync(template.templateFile, 'utf8')).Resources);
    expect(rawText).toContain('{"Ref"');
    expect(rawText).toContain('"Fn::GetAtt"');
  });

  it('gives every bundled function an asset folder with index.mjs, a role and its settings', () => {
    const functions = Object.values(template.functions());
    const bundled = functions.filter((fn) => template.resources[fn.logicalId]!.Metadata['aws:asset:is-bundled'] === true);
    expect(bundled.length).toBeGreaterThanOrEqual(15);
    for (const fn of bundled) {
      expect(existsSync(join(template.assetDir(fn.logicalId), 'index.mjs')), fn.logicalId).toBe(true);
      expect(fn.roleLogicalId, fn.logicalId).toMatch(/Role/);
      expect(template.resources[fn.roleLogicalId!]!.Type).toBe('AWS::IAM::Role');
      expect(fn.handler).toBe('index.handler');
      expect(fn.environment.BUCKET_NAME).toBe(template.outputs.BucketName);
    }
    const transcribe = functions.find((fn) => fn.logicalId.startsWith('TranscribeAudioChunkFunction'))!;
    expect(transcribe.timeout).toBe(eventFunctions.find((definition) => definition.handler === 'transcribe-audio-chunk')!.timeoutSeconds);
    expect(transcribe.memory).toBe(1024);
    expect(transcribe.arn).toBe(`arn:aws:lambda:us-east-1:000000000000:function:${transcribe.logicalId}`);
    expect(transcribe.environment.DB_CLUSTER_ARN).toMatch(/^arn:aws:rds:us-east-1:000000000000:cluster:databasecluster[0-9a-f]{8}$/);
    expect(transcribe.environment.DB_SECRET_ARN).toMatch(/^arn:aws:secretsmanager:us-east-1:000000000000:secret:\S+-twin00$/);
    const secrets = template.ofType('AWS::SecretsManager::Secret').map((id) => template.physicalId(id));
    expect(secrets).toContain(transcribe.environment.DB_SECRET_ARN);
    // The migrator names the master secret as CDK hands it out, the cluster's SecretTargetAttachment, whose Ref is the secret's ARN.
    const migrator = functions.find((fn) => fn.logicalId.startsWith('MigrateDatabaseFunction'))!;
    const attachment = template.ofType('AWS::SecretsManager::SecretTargetAttachment')[0]!;
    expect(migrator.environment.DB_SECRET_ARN).toBe(template.physicalId(attachment));
    expect(secrets).toContain(migrator.environment.DB_SECRET_ARN);
  });

  it("gathers the transcribe function's identity policies, with an s3:PutObject statement", () => {
    const transcribe = Object.values(template.functions()).find((fn) => fn.logicalId.startsWith('TranscribeAudioChunkFunction'))!;
    const { policies, unresolvedManagedPolicyArns } = template.policiesOfRole(transcribe.roleLogicalId!);
    expect(unresolvedManagedPolicyArns).toEqual([]);
    const statements = policies.flatMap((p) => p.policy.Statement);
    const put = statements.filter((s: any) => [s.Action].flat().includes('s3:PutObject'));
    expect(put.length).toBeGreaterThan(0);
    const bucketArn = template.arn(template.logicalIdOf(template.outputs.BucketName!)!);
    expect(bucketArn).toBe(`arn:aws:s3:::${template.outputs.BucketName}`);
    expect([put[0].Resource].flat().every((r: string) => r.startsWith(`${bucketArn}/`))).toBe(true);
  });

  it('resolves the bucket policy, with its TLS-only Deny, and managed policies CDK attaches', () => {
    const policy = template.bucketPolicy(template.outputs.BucketName!);
    expect(policy.Statement[0]).toMatchObject({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } });
    const provider = template.ofType('AWS::IAM::Role').find((id) => id.startsWith('AWSCDKTrigger'))!;
    const names = template.policiesOfRole(provider).policies.map((p) => p.name);
    expect(names).toContain('arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole');
  });

  it('outputs the API URL from the API id', () => {
    const api = template.ofType('AWS::ApiGatewayV2::Api')[0]!;
    expect(template.physicalId(api)).toMatch(/^[0-9a-z]{10}$/);
    expect(template.outputs.ApiUrl).toBe(`https://${template.physicalId(api)}.execute-api.us-east-1.amazonaws.com/`);
  });
});

describe('templateFromJson intrinsics', () => {
  const t = templateFromJson(
    {
      Parameters: { Stage: { Type: 'String', Default: 'dev' }, Names: { Type: 'CommaDelimitedList', Default: 'a,b,c' } },
      Mappings: { Sizes: { dev: { Memory: 256 } } },
      Conditions: { IsProd: { 'Fn::Equals': [{ Ref: 'Stage' }, 'prod'] }, NotProd: { 'Fn::Not': [{ Condition: 'IsProd' }] } },
      Resources: {
        Bucket: { Type: 'AWS::S3::Bucket' },
        Queue: { Type: 'AWS::SQS::Queue' },
        ProdOnly: { Type: 'AWS::SNS::Topic', Condition: 'IsProd' },
        Fn: {
          Type: 'AWS::Lambda::Function',
          DependsOn: 'Bucket',
          Properties: {
            Handler: 'index.handler',
            Runtime: 'nodejs20.x',
            MemorySize: { 'Fn::FindInMap': ['Sizes', { Ref: 'Stage' }, 'Memory'] },
            ReservedConcurrentExecutions: { 'Fn::If': ['NotProd', 2, { Ref: 'AWS::NoValue' }] },
            Environment: {
              Variables: {
                SUB: { 'Fn::Sub': '${Bucket}|${Bucket.Arn}|${AWS::Region}|${!Literal}|${Stage}' },
                SUB_VARS: { 'Fn::Sub': ['${X}-${AWS::AccountId}', { X: { 'Fn::GetAtt': ['Queue', 'Arn'] } }] },
                SELECT: { 'Fn::Select': [1, { Ref: 'Names' }] },
                SPLIT: { 'Fn::Select': [2, { 'Fn::Split': ['/', { Ref: 'Queue' }] }] },
                PARTITION: { 'Fn::Join': [':', [{ Ref: 'AWS::Partition' }, { Ref: 'AWS::URLSuffix' }, { Ref: 'AWS::StackName' }]] },
                GONE: { 'Fn::If': ['IsProd', 'x', { Ref: 'AWS::NoValue' }] },
              },
            },
          },
        },
      },
    },
    { stackName: 'Small' },
  );

  it('resolves Sub (both forms), Select, Split, Join, FindInMap, If, Conditions and parameters', () => {
    const fn = t.functions().Fn!;
    expect(fn.environment).toEqual({
      SUB: 'bucket|arn:aws:s3:::bucket|us-east-1|${Literal}|dev',
      SUB_VARS: 'arn:aws:sqs:us-east-1:000000000000:Queue-000000000000',
      SELECT: 'b',
      SPLIT: 'sqs.us-east-1.amazonaws.com',
      PARTITION: 'aws:amazonaws.com:Small',
    });
    expect(fn.memory).toBe(256);
    expect(fn.reservedConcurrency).toBe(2);
    expect(fn.timeout).toBe(3);
    expect(t.resources.Fn!.DependsOn).toEqual(['Bucket']);
    expect(t.resources.ProdOnly).toBeUndefined();
    expect(t.physicalId('Queue')).toBe('https://sqs.us-east-1.amazonaws.com/000000000000/Queue');
    expect(t.logicalIdOf('arn:aws:s3:::bucket')).toBe('Bucket');
    expect(() => t.physicalId('Nope')).toThrow(/no resource Nope/);
  });
});
