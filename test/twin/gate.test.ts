/**
 * The IAM gate for services other than S3: requests signed by the real AWS SDK (RDS Data API client,
 * @smithy/signature-v4) reach a plain HTTP server that asks the gate, as the twin's Data API does.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ExecuteStatementCommand, RDSDataClient } from '@aws-sdk/client-rds-data';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGate, type GateAnswer, type GateService } from '../../twin/iam/gate';
import { verifySigV4 } from '../../twin/iam/sigv4';
import { CALLER_CREDENTIALS, CALLER_NAME, credentialsOfRole, type TwinCredentials } from '../../twin/identity';
import { templateFromJson } from '../../twin/template';

const CLUSTER = 'arn:aws:rds:us-east-1:000000000000:cluster:databasecluster1';
const template = templateFromJson({
  Resources: {
    Data: { Type: 'AWS::S3::Bucket' },
    DataPolicy: {
      Type: 'AWS::S3::BucketPolicy',
      Properties: {
        Bucket: { Ref: 'Data' },
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Action: 's3:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
              Effect: 'Deny',
              Principal: { AWS: '*' },
              Resource: [{ 'Fn::GetAtt': ['Data', 'Arn'] }, { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['Data', 'Arn'] }, '/*']] }],
            },
          ],
        },
      },
    },
    Cluster: { Type: 'AWS::RDS::DBCluster', Properties: { DBClusterIdentifier: 'DatabaseCluster1' } },
    FnRole: { Type: 'AWS::IAM::Role', Properties: { AssumeRolePolicyDocument: {} } },
    FnRolePolicy: {
      Type: 'AWS::IAM::Policy',
      Properties: {
        PolicyName: 'FnRolePolicy',
        Roles: [{ Ref: 'FnRole' }],
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Action: 'rds-data:ExecuteStatement', Resource: { 'Fn::GetAtt': ['Cluster', 'DBClusterArn'] } },
            {
              Effect: 'Allow',
              Action: 's3:PutObject',
              Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['Data', 'Arn'] }, '/transcripts/*']] },
            },
          ],
        },
      },
    },
  },
});

describe('the IAM gate', () => {
  const refusals: any[] = [];
  const gate = createGate({ template, log: (line) => refusals.push(JSON.parse(line)) });
  const answers: GateAnswer[] = [];
  const received: Record<string, string | string[] | undefined>[] = [];
  let server: Server;
  let endpoint: string;
  const clients: RDSDataClient[] = [];

  beforeAll(async () => {
    // A stand-in for the Data API twin: authorize every call as rds-data:ExecuteStatement on the cluster it names.
    server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      const [path = '/', query = ''] = (req.url ?? '/').split('?');
      const resource = (JSON.parse(body.toString() || '{}') as { resourceArn?: string }).resourceArn ?? '*';
      const answer = await gate.authorize('rds-data', { method: req.method!, path, query, headers: req.headers, body }, [
        { action: 'rds-data:ExecuteStatement', resource },
      ]);
      answers.push(answer);
      received.push(req.headers);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"numberOfRecordsUpdated":0}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const client of clients) client.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  const execute = async (credentials: TwinCredentials, resourceArn = CLUSTER) => {
    const client = new RDSDataClient({ endpoint, region: 'us-east-1', credentials });
    clients.push(client);
    await client.send(
      new ExecuteStatementCommand({
        resourceArn,
        secretArn: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:s-twin00',
        sql: 'select 1',
      }),
    );
    return answers.at(-1)!;
  };

  it('allows a Data API call the role grants, signed by the real RDS Data client', async () => {
    expect(template.arn('Cluster')).toBe(CLUSTER);
    expect(await execute(credentialsOfRole('FnRole'))).toEqual({ allowed: true, principal: 'FnRole' });
    expect(gate.counts().FnRole).toEqual({ 'rds-data': 1 });
    // The client declares the body's hash; the gate checked it against the body it was given.
    expect(received.at(-1)!['x-amz-content-sha256']).toMatch(/^[0-9a-f]{64}$/);
  });

  it('answers AccessDeniedException with the IAM message for a resource the role lacks', async () => {
    const other = 'arn:aws:rds:us-east-1:000000000000:cluster:other';
    const answer = await execute(credentialsOfRole('FnRole'), other);
    expect(answer).toMatchObject({ allowed: false, status: 403, code: 'AccessDeniedException', reason: 'policy' });
    expect((answer as { message: string }).message).toBe(
      `User: arn:aws:iam::000000000000:role/FnRole is not authorized to perform: rds-data:ExecuteStatement on resource: ${other} because no identity-based policy allows the rds-data:ExecuteStatement action`,
    );
    expect(refusals.at(-1)).toMatchObject({
      twin: 'refused',
      service: 'rds-data',
      principal: 'FnRole',
      action: 'rds-data:ExecuteStatement',
      resource: other,
    });
    expect(gate.counts().FnRole!['rds-data']).toBe(1);
  });

  it('answers InvalidSignatureException for a wrong secret, UnrecognizedClientException for an unknown key or missing token', async () => {
    const role = credentialsOfRole('FnRole');
    expect(await execute({ ...role, secretAccessKey: 'x'.repeat(40) })).toMatchObject({
      allowed: false,
      code: 'InvalidSignatureException',
      reason: 'signature-mismatch',
    });
    expect(await execute({ accessKeyId: 'AKIANOBODYNOBODY0000', secretAccessKey: 'x'.repeat(40) })).toMatchObject({
      allowed: false,
      code: 'UnrecognizedClientException',
      reason: 'unknown-key',
    });
    expect(await execute({ accessKeyId: role.accessKeyId, secretAccessKey: role.secretAccessKey })).toMatchObject({
      allowed: false,
      code: 'UnrecognizedClientException',
      reason: 'invalid-token',
    });
    // The caller's key is genuine, but its policy grants the API only.
    expect(await execute(CALLER_CREDENTIALS)).toMatchObject({ allowed: false, code: 'AccessDeniedException', principal: CALLER_NAME });
  });

  it('applies the bucket policy: its Deny on aws:SecureTransport=false overrides the role grant', async () => {
    const check = { action: 's3:PutObject', resource: 'arn:aws:s3:::data/transcripts/1.txt' };
    expect(await gate.allows('FnRole', 's3', check)).toBe(true);
    expect(await gate.allows('FnRole', 's3', { ...check, context: { 'aws:SecureTransport': 'false' } })).toBe(false);
    expect(await gate.allows('FnRole', 's3', { ...check, resource: 'arn:aws:s3:::data/audio/1.wav' })).toBe(false);
  });

  it('lets the caller invoke the API and nothing else', async () => {
    const invoke = { action: 'execute-api:Invoke', resource: 'arn:aws:execute-api:us-east-1:000000000000:abc123defg/$default/GET/health' };
    expect(await gate.allows(CALLER_NAME, 'execute-api' as GateService, invoke)).toBe(true);
    expect(await gate.allows('FnRole', 'execute-api', invoke)).toBe(false);
  });
});

describe('verifySigV4', () => {
  const credentials = credentialsOfRole('FnRole');
  const secretOf = (id: string) =>
    id === credentials.accessKeyId ? { secretAccessKey: credentials.secretAccessKey, sessionToken: credentials.sessionToken! } : undefined;
  const sign = (service: string, path: string, signingDate: Date, body = '{}', applyChecksum = false) =>
    new SignatureV4({ credentials, region: 'us-east-1', service, sha256: Hash.bind(null, 'sha256'), applyChecksum }).sign(
      {
        method: 'POST',
        protocol: 'http:',
        hostname: 'localhost',
        path,
        query: { b: 'x y', a: ['2', '1'] },
        headers: { host: 'localhost', 'content-type': 'application/json' },
        body,
      },
      { signingDate },
    );
  const verify = (signed: { path: string; headers: Record<string, string> }, service: string, now: Date, body = '{}') =>
    verifySigV4(
      { method: 'POST', path: signed.path, query: 'b=x%20y&a=2&a=1', headers: signed.headers, body },
      { service, region: 'us-east-1', secretOf, now },
    );

  it('matches the SDK signer on a non-S3 path it double-encodes, with repeated and encoded query values', async () => {
    const now = new Date();
    const signed = await sign('rds-data', '/Execute/a%20b', now);
    expect(verify(signed, 'rds-data', now)).toMatchObject({ ok: true, accessKeyId: credentials.accessKeyId, form: 'header' });
    expect(verify(signed, 'rds-data', now, '{"tampered":1}')).toMatchObject({ ok: false, failure: 'signature-mismatch' });
    expect(verify(signed, 'transcribe', now)).toMatchObject({ ok: false, failure: 'wrong-scope' });
    // With x-amz-content-sha256 signed, a body that does not hash to it is refused as AWS does.
    const declared = await sign('rds-data', '/Execute', now, '{}', true);
    expect(declared.headers['x-amz-content-sha256']).toMatch(/^[0-9a-f]{64}$/);
    expect(verify(declared, 'rds-data', now)).toMatchObject({ ok: true });
    expect(verify(declared, 'rds-data', now, '{"tampered":1}')).toMatchObject({ ok: false, failure: 'content-sha256-mismatch' });
  });

  it('refuses a date more than 15 minutes away from now, as AWS does', async () => {
    const now = new Date();
    const tenMinutesAgo = await sign('rds-data', '/Execute', new Date(now.getTime() - 10 * 60_000));
    const twentyMinutesAgo = await sign('rds-data', '/Execute', new Date(now.getTime() - 20 * 60_000));
    const twentyMinutesAhead = await sign('rds-data', '/Execute', new Date(now.getTime() + 20 * 60_000));
    expect(verify(tenMinutesAgo, 'rds-data', now)).toMatchObject({ ok: true });
    expect(verify(twentyMinutesAgo, 'rds-data', now)).toMatchObject({ ok: false, failure: 'skewed' });
    expect(verify(twentyMinutesAhead, 'rds-data', now)).toMatchObject({ ok: false, failure: 'skewed' });
  });

  it('reports an unsigned request as unsigned', () => {
    expect(
      verifySigV4({ method: 'GET', path: '/', query: '', headers: { host: 'x' } }, { service: 's3', region: 'us-east-1', secretOf }),
    ).toMatchObject({ ok: false, failure: 'unsigned' });
  });
});
