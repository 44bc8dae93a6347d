/**
 * The stack as CloudFormation, synthesized once with the cdk-nag AwsSolutions checks on (a finding
 * fails the synth) and bundling skipped. The bundles themselves are checked in bundle.test.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { METRICS_NAMESPACE, MetricNames } from '../../functions/metric-names';
import { eventFunctions, type RouteDefinition, routeId, routes, timeoutSecondsOf } from '../../functions/routes';
import { DATABASE_USERS } from '../../lib/database';
import { type DatabaseLogin, databaseLoginOf, needsOf } from '../../lib/function-needs';
import { constructIdOf, InterviewOpsStack } from '../../lib/interview-ops-stack';
import { PROJECT_ROOT } from '../../lib/project-root';

const SKIP_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

/** cdk.json's context (its feature flags and settings), as `cdk synth` and `cdk deploy` read it. */
const CDK_JSON_CONTEXT: Record<string, unknown> = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')).context;

const synth = (context: Record<string, unknown> = {}, props: ConstructorParameters<typeof InterviewOpsStack>[2] = {}) => {
  const app = new App({ context: { ...CDK_JSON_CONTEXT, ...SKIP_BUNDLING, ...context } });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stack = new InterviewOpsStack(app, 'InterviewOps', props);
  app.synth();
  return Template.fromStack(stack);
};

type Resource = { Type: string; Properties: Record<string, any>; DependsOn?: string[] };
const resourcesOf = (template: Template, type: string) => template.findResources(type) as Record<string, Resource>;

/** The logical id of the Lambda function built for a handler module. */
const functionIdOf = (template: Template, handler: string) => {
  const prefix = `${constructIdOf(handler)}Function`;
  const ids = Object.keys(resourcesOf(template, 'AWS::Lambda::Function')).filter(
    (id) => id.startsWith(prefix) && /^[0-9A-F]{8}$/.test(id.slice(prefix.length)),
  );
  expect(ids, `one function for ${handler}`).toHaveLength(1);
  return ids[0]!;
};

/** The Lambda function resource of a handler. */
const functionOf = (template: Template, handler: string) =>
  resourcesOf(template, 'AWS::Lambda::Function')[functionIdOf(template, handler)]!;

/** Every IAM statement attached to the role of a handler's function. */
const statementsOf = (template: Template, handler: string) => {
  const fn = functionOf(template, handler);
  const roleId = fn.Properties.Role['Fn::GetAtt'][0] as string;
  return Object.values(resourcesOf(template, 'AWS::IAM::Policy'))
    .filter((policy) => policy.Properties.Roles.some((role: any) => role.Ref === roleId))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as any[]);
};

const actionsOf = (statement: any): string[] => [statement.Action].flat();
const resourcesOfStatement = (statement: any): string[] => [statement.Resource].flat().map((resource) => JSON.stringify(resource));

/** The S3 object actions a handler's role may use, per key prefix. */
const objectGrants = (template: Template, handler: string) => {
  const grants: Record<string, string[]> = {};
  for (const statement of statementsOf(template, handler)) {
    for (const resource of resourcesOfStatement(statement)) {
      const prefix = /"\/([a-z-]+\/[a-z-]*)\*"/.exec(resource)?.[1];
      if (!prefix) continue;
      grants[prefix] = [...(grants[prefix] ?? []), ...actionsOf(statement)].sort();
    }
  }
  return grants;
};

const SEED_ROUTES = [
  'POST /process_chunk/{chunk_id}',
  'GET /transcript/{session_id}/{chunk_id}',
  'GET /transcripts/{session_id}',
  'GET /sandbox_snapshot',
  'GET /sandbox_snapshot/{snapshot_id}',
  'GET /sandbox_snapshots',
  'POST /sandbox_snapshot/trigger',
];

describe('InterviewOpsStack', () => {
  let template: Template;
  beforeAll(() => {
    template = synth();
  });

  describe('the HTTP API', () => {
    it('has one route per entry of functions/routes.ts, IAM-authorized unless public', () => {
      const apiRoutes = Object.values(resourcesOf(template, 'AWS::ApiGatewayV2::Route'));
      expect(apiRoutes.map((route) => route.Properties.RouteKey).sort()).toEqual(routes.map(routeId).sort());
      for (const route of routes as readonly RouteDefinition[]) {
        template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
          RouteKey: routeId(route),
          AuthorizationType: route.public ? 'NONE' : 'AWS_IAM',
        });
      }
    });

    it('serves the seven seed routes and /health/deep with IAM authorization, and /health without', () => {
      for (const key of [...SEED_ROUTES, 'GET /health/deep']) {
        template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: key, AuthorizationType: 'AWS_IAM' });
      }
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'GET /health', AuthorizationType: 'NONE' });
    });

    it('sends each route to the function built from its own handler module', () => {
      const integrations = resourcesOf(template, 'AWS::ApiGatewayV2::Integration');
      for (const route of Object.values(resourcesOf(template, 'AWS::ApiGatewayV2::Route'))) {
        const handler = routes.find((entry) => routeId(entry) === route.Properties.RouteKey)!.handler;
        const integrationId = (route.Properties.Target['Fn::Join'][1] as any[]).find((part) => part.Ref)?.Ref as string;
        const uri = integrations[integrationId]!.Properties.IntegrationUri;
        expect(uri).toEqual({ 'Fn::GetAtt': [functionIdOf(template, handler), 'Arn'] });
      }
    });

    it('throttles the stage and writes access logs', () => {
      template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
        StageName: '$default',
        AutoDeploy: true,
        DefaultRouteSettings: { ThrottlingRateLimit: Match.anyValue(), ThrottlingBurstLimit: Match.anyValue() },
        AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('requestId') },
      });
    });
  });

  describe('the functions', () => {
    it('are ESM bundles on Node.js 22 or newer, one per handler, configured for AWS', () => {
      const handlers = new Set([
        ...routes.map((route) => route.handler),
        ...eventFunctions.map((entry) => entry.handler),
        'migrate-database',
      ]);
      for (const handler of handlers) {
        const fn = resourcesOf(template, 'AWS::Lambda::Function')[functionIdOf(template, handler)]!;
        const major = Number(/^nodejs(\d+)\.x$/.exec(fn.Properties.Runtime)?.[1]);
        expect(major, `${handler} runtime`).toBeGreaterThanOrEqual(22);
        expect(fn.Properties.Handler).toBe('index.handler');
        expect(fn.Properties.TracingConfig, `${handler} tracing`).toEqual({ Mode: 'Active' });
        expect(statementsOf(template, handler).flatMap(actionsOf), `${handler} may send traces`).toEqual(
          expect.arrayContaining(['xray:PutTraceSegments', 'xray:PutTelemetryRecords']),
        );
        const variables = fn.Properties.Environment.Variables;
        if (databaseLoginOf(needsOf(handler)))
          expect(variables).toMatchObject({ DB_CLUSTER_ARN: expect.anything(), DB_SECRET_ARN: expect.anything() });
        else expect(variables).not.toHaveProperty('DB_SECRET_ARN');
        expect(variables).toMatchObject({
          BUCKET_NAME: expect.anything(),
          RUN_MIGRATIONS_AT_START: 'false',
          TRANSCRIBER: 'aws-transcribe',
          TRANSCRIBE_LANGUAGE: 'en-US',
        });
      }
    });

    it('grants no s3:* and no * action, and * as a resource only to X-Ray, starting Transcribe streams and jobs, and the log-retention helper', () => {
      // CDK's log-retention helper (the RDS log export's retention) sets retention on a log group RDS names.
      const retentionHelper = Object.entries(resourcesOf(template, 'AWS::IAM::Policy')).filter(([id]) => id.startsWith('LogRetention'));
      expect(
        retentionHelper
          .flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement as any[])
          .flatMap(actionsOf)
          .sort(),
      ).toEqual(['logs:DeleteRetentionPolicy', 'logs:PutRetentionPolicy']);
      const policies = [
        ...Object.entries(resourcesOf(template, 'AWS::IAM::Policy'))
          .filter(([id]) => !id.startsWith('LogRetention'))
          .map(([, policy]) => policy.Properties.PolicyDocument),
        ...Object.values(resourcesOf(template, 'AWS::IAM::Role')).flatMap((role) =>
          (role.Properties.Policies ?? []).map((policy: any) => policy.PolicyDocument),
        ),
      ];
      const statements = policies.flatMap((document) => document.Statement as any[]);
      expect(statements.length).toBeGreaterThan(20);
      for (const statement of statements) {
        for (const action of actionsOf(statement)) {
          expect(action).not.toBe('*');
          expect(action).not.toBe('s3:*');
        }
        // Actions with no resource-level permissions (CDK merges them into one statement per role).
        const onStar = [
          'transcribe:StartStreamTranscription',
          'transcribe:StartTranscriptionJob',
          'xray:PutTelemetryRecords',
          'xray:PutTraceSegments',
        ];
        if (resourcesOfStatement(statement).includes('"*"')) for (const action of actionsOf(statement)) expect(onStar).toContain(action);
      }
    });

    it('lets each function touch only the key prefixes it uses', () => {
      // Writers may read what they wrote: the S3 adapter heads an object after writing it. Per-session
      // objects are written tagged for the lifecycle rules, which S3 authorizes by s3:PutObjectTagging too.
      expect(objectGrants(template, 'upload-audio-chunk')).toEqual({
        'audio/': ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject', 's3:PutObjectTagging'],
        'audio-track-headers/': ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject', 's3:PutObjectTagging'],
        'snapshot-segments/change-marker': ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'],
      });
      // A transcription writes its text and its details sidecar: both prefixes, or every one fails with AccessDenied.
      // A retry of a batch-only chunk starts a job that writes its output as this role.
      expect(objectGrants(template, 'process-chunk')).toEqual({
        'audio/': ['s3:GetObject'],
        'transcripts/': ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject', 's3:PutObjectTagging'],
        'transcript-details/': ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject', 's3:PutObjectTagging'],
        'transcribe-output/': ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject', 's3:PutObjectTagging'],
        'snapshot-segments/change-marker': ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'],
      });
      // The inserted-chunk function also removes audio refused on arrival, and its batch jobs write their
      // output as its role; the completion reads that output and writes the transcript files.
      expect(objectGrants(template, 'transcribe-audio-chunk')).toEqual({
        'audio/': ['s3:DeleteObject', 's3:GetObject'],
        'transcripts/': ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject', 's3:PutObjectTagging'],
        'transcript-details/': ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject', 's3:PutObjectTagging'],
        'transcribe-output/': ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject', 's3:PutObjectTagging'],
        'snapshot-segments/change-marker': ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'],
      });
      expect(objectGrants(template, 'complete-batch-transcription')).toEqual({
        'transcribe-output/': ['s3:GetObject'],
        'transcripts/': ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject', 's3:PutObjectTagging'],
        'transcript-details/': ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject', 's3:PutObjectTagging'],
        'snapshot-segments/change-marker': ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'],
      });
      // Presigning makes no request; the URL carries the expiring tag, so the PUT needs s3:PutObjectTagging too.
      // The upload is authorized as the signer, who needs the write it hands out.
      expect(objectGrants(template, 'create-audio-upload')).toEqual({
        'audio/': ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject', 's3:PutObjectTagging'],
      });
      expect(objectGrants(template, 'expire-audio-uploads')).toEqual({ 'audio/': ['s3:GetObject'] });
      // Erasure lists and deletes every per-session kind; holds list and re-tag them; none reads a body.
      const perSession = (actions: string[]) => ({
        'audio/': actions,
        'transcripts/': actions,
        'transcript-details/': actions,
        'audio-track-headers/': actions,
        'transcribe-output/': actions,
      });
      expect(objectGrants(template, 'erase-session')).toEqual({
        ...perSession(['s3:DeleteObject']),
        'snapshot-segments/change-marker': ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'],
      });
      expect(objectGrants(template, 'place-session-hold')).toEqual(perSession(['s3:PutObjectTagging']));
      expect(objectGrants(template, 'release-session-hold')).toEqual(perSession(['s3:PutObjectTagging']));
      expect(objectGrants(template, 'sweep-retention')).toEqual({
        ...perSession(['s3:DeleteObject', 's3:PutObjectTagging']),
        'snapshot-segments/change-marker': ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'],
      });
      for (const handler of ['erase-session', 'place-session-hold', 'release-session-hold', 'sweep-retention']) {
        const listing = statementsOf(template, handler).filter((statement) => actionsOf(statement).includes('s3:ListBucket'));
        expect(listing, handler).toHaveLength(1);
      }
      // Reading a transcript back answers its details too; the session timeline reads the details alone.
      expect(objectGrants(template, 'get-transcript')).toEqual({
        'transcripts/': ['s3:GetObject'],
        'transcript-details/': ['s3:GetObject'],
      });
      expect(objectGrants(template, 'get-session-transcript')).toEqual({ 'transcript-details/': ['s3:GetObject'] });
      expect(objectGrants(template, 'search-transcripts')).toEqual({});
      // The deploy trigger reads old transcripts to make them searchable (backfill-search-text.ts), which
      // writes the rows: so it moves the snapshot change marker too.
      expect(objectGrants(template, 'migrate-database')).toEqual({
        'transcripts/': ['s3:GetObject'],
        'snapshot-segments/change-marker': ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'],
      });
      // Snapshot writers only create objects: the bucket's lifecycle rule expires them, so no DeleteObject.
      for (const handler of ['take-scheduled-snapshot', 'trigger-snapshot']) {
        expect(objectGrants(template, handler), handler).toEqual({
          'snapshots/': ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'],
          'snapshot-segments/': ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'],
        });
      }
      expect(objectGrants(template, 'get-snapshot')).toEqual({ 'snapshots/': ['s3:GetObject'], 'snapshot-segments/': ['s3:GetObject'] });
      expect(objectGrants(template, 'get-snapshot-part')).toEqual({
        'snapshots/': ['s3:GetObject'],
        'snapshot-segments/': ['s3:GetObject'],
      });
      // Writers of the snapshot tables move the change marker, and may write nothing else there.
      expect(objectGrants(template, 'create-session')).toEqual({
        'snapshot-segments/change-marker': ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'],
      });
    });

    it('gives routes that transcribe or snapshot the whole API Gateway wait, and plain routes less', () => {
      const timeoutOf = (handler: string) => functionOf(template, handler).Properties.Timeout as number;
      expect(timeoutOf('process-chunk')).toBe(29);
      expect(timeoutOf('trigger-snapshot')).toBe(29);
      expect(timeoutOf('get-session')).toBe(25);
      expect(timeoutOf('take-scheduled-snapshot')).toBeLessThan(60);
      // The local stack gives each handler these same deadlines (test/local/lambda-deadlines.test.ts).
      for (const route of routes) expect(timeoutOf(route.handler)).toBe(timeoutSecondsOf(route));
      for (const definition of eventFunctions) expect(timeoutOf(definition.handler)).toBe(definition.timeoutSeconds);
    });

    it('gives the routes that transcribe or snapshot on request more memory than plain routes', () => {
      const memoryOf = (handler: string) => functionOf(template, handler).Properties.MemorySize as number;
      expect(memoryOf('process-chunk')).toBe(1024);
      expect(memoryOf('trigger-snapshot')).toBe(1024);
      expect(memoryOf('get-session')).toBe(512);
      expect(memoryOf('list-snapshots')).toBe(512);
    });

    it('gives Transcribe streaming only to the transcription functions', () => {
      const transcribes = (handler: string) =>
        statementsOf(template, handler).some((s) => actionsOf(s).includes('transcribe:StartStreamTranscription'));
      expect(transcribes('transcribe-audio-chunk')).toBe(true);
      expect(transcribes('process-chunk')).toBe(true);
      expect(transcribes('upload-audio-chunk')).toBe(false);
      expect(transcribes('take-scheduled-snapshot')).toBe(false);
    });

    it('gives the functions that need no database (liveness, the OpenAPI document) no Data API, no secret and no bucket', () => {
      for (const handler of ['health', 'get-openapi']) {
        const actions = statementsOf(template, handler).flatMap(actionsOf);
        expect(actions.filter((action) => action.startsWith('logs:')).length).toBeGreaterThan(0);
        expect(actions.filter((action) => !action.startsWith('logs:') && !action.startsWith('xray:'))).toEqual([]);
      }
    });

    it('lets only the inserted-chunk function and POST /process_chunk start batch jobs', () => {
      const startsJobs = (handler: string) =>
        statementsOf(template, handler).filter((statement) => actionsOf(statement).includes('transcribe:StartTranscriptionJob'));
      for (const handler of ['transcribe-audio-chunk', 'process-chunk']) {
        const [grant, ...others] = startsJobs(handler);
        expect(others, handler).toEqual([]);
        // The action has no resource type: '*' is all IAM takes (the twin's gate refuses anything narrower).
        // CDK merges it with the other actions on '*': the streaming grant and X-Ray's.
        expect(actionsOf(grant!).sort(), handler).toEqual([
          'transcribe:StartStreamTranscription',
          'transcribe:StartTranscriptionJob',
          'xray:PutTelemetryRecords',
          'xray:PutTraceSegments',
        ]);
        expect(grant!.Resource, handler).toBe('*');
      }
      for (const handler of ['complete-batch-transcription', 'create-audio-upload', 'upload-audio-chunk']) {
        expect(startsJobs(handler), handler).toEqual([]);
      }
      // Transcribe reads the audio and writes the output as the caller: no data access role to pass.
      const actions = Object.values(resourcesOf(template, 'AWS::IAM::Policy')).flatMap((policy) =>
        (policy.Properties.PolicyDocument.Statement as any[]).flatMap(actionsOf),
      );
      expect(actions).not.toContain('iam:PassRole');
    });

    /** The logical ids of the secrets a handler's role may read. */
    const secretsReadBy = (handler: string) =>
      statementsOf(template, handler)
        .filter((statement) => actionsOf(statement).includes('secretsmanager:GetSecretValue'))
        .flatMap((statement) => [statement.Resource].flat())
        .map((resource: any) => resource.Ref as string)
        .sort();
    const secretOf = (login: DatabaseLogin) => {
      const secrets = resourcesOf(template, 'AWS::SecretsManager::Secret');
      const [id] = Object.entries(secrets)
        .filter(([, secret]) => JSON.parse(secret.Properties.GenerateSecretString.SecretStringTemplate).username === DATABASE_USERS[login])
        .map(([secretId]) => secretId);
      expect(id, `the ${login} secret`).toBeDefined();
      // Functions name the master secret through its attachment to the cluster, as CDK hands it out.
      if (login !== 'owner') return id!;
      return Object.entries(resourcesOf(template, 'AWS::SecretsManager::SecretTargetAttachment')).find(
        ([, attachment]) => attachment.Properties.SecretId.Ref === id,
      )![0];
    };

    it('has one secret per login: the master, the app and the reader', () => {
      template.resourceCountIs('AWS::SecretsManager::Secret', 3);
      expect(new Set((['owner', 'app', 'reader'] as const).map(secretOf)).size).toBe(3);
    });

    it("gives each database function the Data API and its own login's secret, and only the migrator the master", () => {
      const expected: Record<string, DatabaseLogin> = {
        'migrate-database': 'owner',
        'create-session': 'app',
        'upload-audio-chunk': 'app',
        'record-code-history': 'app',
        'record-execution-result': 'app',
        'process-chunk': 'app',
        'transcribe-audio-chunk': 'app',
        'health-deep': 'reader',
        'get-session': 'reader',
        'get-transcript': 'reader',
        'list-transcripts': 'reader',
        'get-session-transcript': 'reader',
        'search-transcripts': 'reader',
        'get-latest-snapshot': 'reader',
        'get-snapshot': 'reader',
        'get-snapshot-part': 'reader',
        'list-snapshots': 'reader',
        // Taking a snapshot prunes the change log it read (migration 011).
        'take-scheduled-snapshot': 'app',
        'trigger-snapshot': 'app',
      };
      const handlers = new Set([
        ...routes.map((route) => route.handler),
        ...eventFunctions.map((entry) => entry.handler),
        'migrate-database',
      ]);
      for (const handler of handlers) {
        const login = databaseLoginOf(needsOf(handler));
        if (!login) continue;
        expect(login, handler).toBe(expected[handler] ?? 'app');
        const fn = functionOf(template, handler);
        expect(fn.Properties.Environment.Variables.DB_SECRET_ARN, handler).toEqual({ Ref: secretOf(login) });
        const readable = secretsReadBy(handler);
        if (login === 'owner') expect(readable).toEqual([secretOf('owner'), secretOf('app'), secretOf('reader')].sort());
        else expect(readable, handler).toEqual([secretOf(login)]);
        const dataApi = statementsOf(template, handler).filter((statement) => actionsOf(statement).includes('rds-data:ExecuteStatement'));
        expect(dataApi, handler).toHaveLength(1);
        expect(actionsOf(dataApi[0]).sort()).toEqual([
          'rds-data:BatchExecuteStatement',
          'rds-data:BeginTransaction',
          'rds-data:CommitTransaction',
          'rds-data:ExecuteStatement',
          'rds-data:RollbackTransaction',
        ]);
      }
      expect(functionOf(template, 'migrate-database').Properties.Environment.Variables).toMatchObject({
        DB_APP_SECRET_ARN: { Ref: secretOf('app') },
        DB_READER_SECRET_ARN: { Ref: secretOf('reader') },
      });
    });

    it('lets no role but the migrator read the master secret', () => {
      const master = JSON.stringify({ Ref: secretOf('owner') });
      const migratorRole = functionOf(template, 'migrate-database').Properties.Role['Fn::GetAtt'][0];
      for (const [id, policy] of Object.entries(resourcesOf(template, 'AWS::IAM::Policy'))) {
        const readsMaster = (policy.Properties.PolicyDocument.Statement as any[]).some((statement) =>
          resourcesOfStatement(statement).includes(master),
        );
        if (readsMaster) expect(policy.Properties.Roles, id).toEqual([{ Ref: migratorRole }]);
      }
    });
  });

  describe('the bucket', () => {
    it('blocks public access, enforces TLS and encrypts', () => {
      template.hasResourceProperties('AWS::S3::Bucket', {
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ Prefix: 'snapshots/' })]) },
      });
      const policies = Object.values(resourcesOf(template, 'AWS::S3::BucketPolicy'));
      const denyInsecure = policies
        .flatMap((policy) => policy.Properties.PolicyDocument.Statement as any[])
        .filter((statement) => statement.Effect === 'Deny' && statement.Condition?.Bool?.['aws:SecureTransport'] === 'false');
      expect(denyInsecure.length).toBeGreaterThanOrEqual(2);
    });

    it('lets browsers PUT direct uploads from any origin with every header an upload URL signs', () => {
      template.hasResourceProperties('AWS::S3::Bucket', {
        CorsConfiguration: {
          CorsRules: [
            Match.objectLike({
              AllowedMethods: ['PUT', 'GET'],
              AllowedOrigins: ['*'],
              AllowedHeaders: Match.arrayWith(['content-type', 'x-amz-tagging', 'x-amz-checksum-sha256']),
            }),
          ],
        },
      });
    });

    it('expires snapshots/ after the retention days (7 by default)', () => {
      template.hasResourceProperties('AWS::S3::Bucket', {
        LifecycleConfiguration: {
          Rules: Match.arrayWith([Match.objectLike({ Prefix: 'snapshots/', ExpirationInDays: 7, Status: 'Enabled' })]),
        },
      });
    });

    it('expires no session data by default: only snapshots/, batch job output and incomplete uploads have rules', () => {
      const [bucket] = Object.values(resourcesOf(template, 'AWS::S3::Bucket')).filter((resource) =>
        resource.Properties.LifecycleConfiguration?.Rules?.some((rule: any) => rule.Prefix === 'snapshots/'),
      );
      expect(bucket!.Properties.LifecycleConfiguration.Rules.map((rule: any) => rule.Id).sort()).toEqual([
        'abort-incomplete-uploads',
        'expire-snapshot-segments',
        'expire-snapshots',
        // A copy of what the transcript files hold, kept 14 days for inspection.
        'expire-transcribe-output',
      ]);
    });

    it('expires segment pieces after the retention and two days, as manifests name them that long', () => {
      template.hasResourceProperties('AWS::S3::Bucket', {
        LifecycleConfiguration: {
          Rules: Match.arrayWith([Match.objectLike({ Prefix: 'snapshot-segments/', ExpirationInDays: 9, Status: 'Enabled' })]),
        },
      });
    });

    it('notifies the transcription function of objects created under audio/', () => {
      const transcriber = eventFunctions.find((entry) => entry.trigger.kind === 'object-created');
      expect(transcriber?.trigger).toEqual({ kind: 'object-created', prefix: 'audio/' });
      template.hasResourceProperties('Custom::S3BucketNotifications', {
        NotificationConfiguration: {
          LambdaFunctionConfigurations: [
            {
              Events: ['s3:ObjectCreated:*'],
              Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'audio/' }] } },
              LambdaFunctionArn: { 'Fn::GetAtt': [functionIdOf(template, transcriber!.handler), 'Arn'] },
            },
          ],
        },
      });
    });

    it('retries the transcription asynchronously and keeps what still failed in an SQS queue', () => {
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: functionIdOf(template, 'transcribe-audio-chunk') },
        MaximumRetryAttempts: 2,
        DestinationConfig: {
          OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^TranscribeAudioChunkEventsFailures'), 'Arn'] } },
        },
      });
    });
  });

  describe('the schedule', () => {
    it('invokes the snapshot function at rate(1 minute), with a dead-letter queue', () => {
      const snapshot = eventFunctions.find((entry) => entry.trigger.kind === 'schedule')!;
      template.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: 'rate(1 minute)',
        State: 'ENABLED',
        Targets: [
          Match.objectLike({
            Arn: { 'Fn::GetAtt': [functionIdOf(template, snapshot.handler), 'Arn'] },
            DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^TakeScheduledSnapshotEventsFailures'), 'Arn'] } },
            RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 60 },
          }),
        ],
      });
    });
  });

  describe('retention', () => {
    const sweep = eventFunctions.find((entry) => entry.trigger.kind === 'retention-schedule')!;

    it('runs the retention sweep daily, with a dead-letter queue, under its own schedule', () => {
      template.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: 'rate(1 day)',
        State: 'ENABLED',
        Targets: [
          Match.objectLike({
            Arn: { 'Fn::GetAtt': [functionIdOf(template, sweep.handler), 'Arn'] },
            DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^SweepRetentionEventsFailures'), 'Arn'] } },
          }),
        ],
      });
      expect(functionOf(template, sweep.handler).Properties.Timeout).toBe(900);
      // The sweep and erasure speak SQL: the Data API on the cluster, as every database function.
      expect(statementsOf(template, sweep.handler).some((statement) => actionsOf(statement).includes('rds-data:ExecuteStatement'))).toBe(
        true,
      );
    });

    it('expires each per-session kind by its period, only objects tagged retention=expires, and passes the periods on', () => {
      const custom = synth(
        { audioRetentionDays: 30, transcriptRetentionDays: 90, sessionRetentionDays: 365, retentionSweepSchedule: 'rate(12 hours)' },
        { routes: [routes.find((route) => route.handler === 'erase-session')!], eventFunctions: [sweep] },
      );
      const rule = (id: string, prefix: string, days: number) =>
        Match.objectLike({
          Id: id,
          Prefix: prefix,
          ExpirationInDays: days,
          Status: 'Enabled',
          TagFilters: [{ Key: 'retention', Value: 'expires' }],
        });
      custom.hasResourceProperties('AWS::S3::Bucket', {
        LifecycleConfiguration: {
          Rules: Match.arrayWith([
            rule('expire-audio', 'audio/', 30),
            rule('expire-transcripts', 'transcripts/', 90),
            rule('expire-transcript-details', 'transcript-details/', 90),
          ]),
        },
      });
      custom.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(12 hours)' });
      custom.hasResourceProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: Match.objectLike({ AUDIO_RETENTION_DAYS: '30', TRANSCRIPT_RETENTION_DAYS: '90', SESSION_RETENTION_DAYS: '365' }),
        },
      });
    });

    it('refuses object retention under 2 days and a sweep less often than daily', () => {
      const none = { routes: [], eventFunctions: [] };
      expect(() => synth({ audioRetentionDays: 1 }, none)).toThrow(/audioRetentionDays/);
      expect(() => synth({ transcriptRetentionDays: 'soon' }, none)).toThrow(/transcriptRetentionDays/);
      expect(() => synth({ sessionRetentionDays: 0 }, none)).toThrow(/sessionRetentionDays/);
      expect(() => synth({ retentionSweepSchedule: 'rate(2 days)' }, none)).toThrow(/retentionSweepSchedule/);
    });
  });

  describe('batch transcription and upload housekeeping', () => {
    it("invokes the completion function on the end of this service's Transcribe jobs, with retries and a queue", () => {
      template.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: {
          source: ['aws.transcribe'],
          'detail-type': ['Transcribe Job State Change'],
          detail: { TranscriptionJobStatus: ['COMPLETED', 'FAILED'], TranscriptionJobName: [{ prefix: 'interview-ops-chunk-' }] },
        },
        Targets: [
          Match.objectLike({
            Arn: { 'Fn::GetAtt': [functionIdOf(template, 'complete-batch-transcription'), 'Arn'] },
            DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^CompleteBatchTranscriptionEventsFailures'), 'Arn'] } },
          }),
        ],
      });
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: functionIdOf(template, 'complete-batch-transcription') },
        MaximumRetryAttempts: 2,
      });
    });

    it('sweeps expired direct-upload reservations every 15 minutes, and expires batch output in the bucket', () => {
      template.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: 'rate(15 minutes)',
        Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [functionIdOf(template, 'expire-audio-uploads'), 'Arn'] } })],
      });
      template.hasResourceProperties('AWS::S3::Bucket', {
        LifecycleConfiguration: {
          Rules: Match.arrayWith([Match.objectLike({ Prefix: 'transcribe-output/', ExpirationInDays: 14, Status: 'Enabled' })]),
        },
      });
    });
  });

  describe('the database', () => {
    it('is Aurora Serverless v2 PostgreSQL with the Data API and an encrypted, generated secret', () => {
      template.hasResourceProperties('AWS::RDS::DBCluster', {
        Engine: 'aurora-postgresql',
        EnableHttpEndpoint: true,
        StorageEncrypted: true,
        DatabaseName: 'interview_ops',
      });
      template.hasResourceProperties('AWS::RDS::DBInstance', { DBInstanceClass: 'db.serverless', Engine: 'aurora-postgresql' });
    });

    it('pauses when idle by default: 0 ACU minimum, paused after 300 s without connections', () => {
      template.hasResourceProperties('AWS::RDS::DBCluster', {
        ServerlessV2ScalingConfiguration: { MinCapacity: 0, MaxCapacity: 4, SecondsUntilAutoPause: 300 },
      });
    });

    it('migrates after each deploy through a trigger on the migration function', () => {
      const triggers = Object.values(resourcesOf(template, 'Custom::Trigger'));
      expect(triggers).toHaveLength(1);
      const versionId = triggers[0]!.Properties.HandlerArn.Ref as string;
      const version = resourcesOf(template, 'AWS::Lambda::Version')[versionId]!;
      expect(version.Properties.FunctionName).toEqual({ Ref: functionIdOf(template, 'migrate-database') });
      expect(triggers[0]!.DependsOn?.some((id) => id.startsWith('DatabaseCluster'))).toBe(true);
    });
  });

  describe('context settings', () => {
    const table: readonly RouteDefinition[] = routes;
    const oneRoute = [table.find((route) => route.handler === 'get-session')!];
    const healthRoute = table.find((route) => route.public)!;

    it('take the retention days, schedule and language from context', () => {
      const custom = synth(
        {
          snapshotRetentionDays: 3,
          snapshotSchedule: 'rate(5 minutes)',
          snapshotStaleMinutes: 12,
          transcribeLanguage: 'de-DE',
          transcribeLanguageOptions: 'de-DE, en-US',
        },
        { routes: oneRoute, eventFunctions: eventFunctions.filter((entry) => entry.trigger.kind === 'schedule') },
      );
      custom.hasResourceProperties('AWS::S3::Bucket', {
        LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ Prefix: 'snapshots/', ExpirationInDays: 3 })]) },
      });
      custom.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(5 minutes)' });
      custom.hasResourceProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: Match.objectLike({
            TRANSCRIBE_LANGUAGE: 'de-DE',
            TRANSCRIBE_LANGUAGE_OPTIONS: 'de-DE,en-US',
            SNAPSHOT_RETENTION_DAYS: '3',
          }),
        },
      });
    });

    it('switch the routes to a JWT authorizer with authMode=jwt', () => {
      const jwt = synth(
        { authMode: 'jwt', jwtIssuer: 'https://issuer.example.com/', jwtAudience: 'interview-ops,console' },
        { routes: [...oneRoute, healthRoute], eventFunctions: [] },
      );
      jwt.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
        AuthorizerType: 'JWT',
        JwtConfiguration: { Issuer: 'https://issuer.example.com/', Audience: ['interview-ops', 'console'] },
      });
      jwt.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: routeId(oneRoute[0]!), AuthorizationType: 'JWT' });
      jwt.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: routeId(healthRoute), AuthorizationType: 'NONE' });
    });

    it('take the database capacity and pause delay from context, and refuse capacities Aurora does not offer', () => {
      const noTables = { routes: oneRoute, eventFunctions: [] };
      const warm = synth({ databaseMinCapacity: 0.5, databaseMaxCapacity: 2 }, noTables);
      const scaling = Object.values(resourcesOf(warm, 'AWS::RDS::DBCluster'))[0]!.Properties.ServerlessV2ScalingConfiguration;
      expect(scaling).toEqual({ MinCapacity: 0.5, MaxCapacity: 2 });
      synth({ databaseSecondsUntilAutoPause: 3600 }, noTables).hasResourceProperties('AWS::RDS::DBCluster', {
        ServerlessV2ScalingConfiguration: { MinCapacity: 0, SecondsUntilAutoPause: 3600 },
      });
      expect(() => synth({ databaseMinCapacity: 0.3 }, noTables)).toThrow(/databaseMinCapacity/);
      expect(() => synth({ databaseMinCapacity: 8, databaseMaxCapacity: 4 }, noTables)).toThrow(/databaseMaxCapacity/);
      expect(() => synth({ databaseSecondsUntilAutoPause: 60 }, noTables)).toThrow(/databaseSecondsUntilAutoPause/);
    });

    it("answer CORS preflights for corsOrigins only, with the route table's methods, and let those origins PUT uploads", () => {
      const api = (synthesized: Template) => Object.values(resourcesOf(synthesized, 'AWS::ApiGatewayV2::Api'))[0]!.Properties;
      const bucketCors = (synthesized: Template) =>
        Object.values(resourcesOf(synthesized, 'AWS::S3::Bucket')).find((bucket) => bucket.Properties.CorsConfiguration)!.Properties
          .CorsConfiguration.CorsRules;
      // Unset: no CORS on the API, as before the setting; the bucket still takes presigned PUTs from any page.
      expect(api(template).CorsConfiguration).toBeUndefined();
      expect(bucketCors(template)).toEqual([expect.objectContaining({ AllowedMethods: ['PUT', 'GET'], AllowedOrigins: ['*'] })]);

      const deleteRoute = table.find((route) => route.method === 'DELETE')!;
      const cors = synth(
        { corsOrigins: 'https://app.example.com, http://localhost:5173' },
        { routes: [...oneRoute, healthRoute, deleteRoute], eventFunctions: [] },
      );
      expect(api(cors).CorsConfiguration).toEqual({
        AllowOrigins: ['https://app.example.com', 'http://localhost:5173'],
        AllowMethods: ['DELETE', 'GET'],
        AllowHeaders: expect.arrayContaining(['authorization', 'content-type', 'x-amz-date', 'x-amz-security-token']),
        ExposeHeaders: ['apigw-requestid'],
        MaxAge: 3600,
      });
      expect(api(cors).CorsConfiguration.AllowCredentials).toBeUndefined();
      expect(bucketCors(cors)).toEqual([
        {
          AllowedMethods: ['PUT', 'GET'],
          AllowedOrigins: ['https://app.example.com', 'http://localhost:5173'],
          AllowedHeaders: ['content-type', 'x-amz-tagging', 'x-amz-checksum-sha256'],
          ExposedHeaders: ['etag'],
          MaxAge: 3600,
        },
      ]);
      // Every method of the full table, so no route is left out of the preflight.
      expect(api(synth({ corsOrigins: '*' }, { routes, eventFunctions: [] })).CorsConfiguration).toMatchObject({
        AllowOrigins: ['*'],
        AllowMethods: ['DELETE', 'GET', 'POST', 'PUT'],
      });
    });

    it('refuse corsOrigins that are not origins', () => {
      const small = { routes: oneRoute, eventFunctions: [] };
      expect(() => synth({ corsOrigins: 'https://app.example.com/' }, small)).toThrow(
        /corsOrigins: https:\/\/app.example.com\/ is not an origin/,
      );
      expect(() => synth({ corsOrigins: 'app.example.com' }, small)).toThrow(/corsOrigins/);
      expect(() => synth({ corsOrigins: '*,https://app.example.com' }, small)).toThrow(/corsOrigins: \* stands alone/);
    });

    it('refuse a JWT mode without issuer and audience, and a bad retention', () => {
      expect(() => synth({ authMode: 'jwt' }, { routes: oneRoute, eventFunctions: [] })).toThrow(/jwtIssuer/);
      expect(() => synth({ snapshotRetentionDays: 0 }, { routes: oneRoute, eventFunctions: [] })).toThrow(/snapshotRetentionDays/);
    });
  });

  describe('operations', () => {
    const alarms = () => Object.values(resourcesOf(template, 'AWS::CloudWatch::Alarm'));
    const topicId = () => {
      const ids = Object.keys(resourcesOf(template, 'AWS::SNS::Topic'));
      expect(ids).toHaveLength(1);
      return ids[0]!;
    };
    const notifiesTopic = (alarm: Resource) => {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId() }]);
      expect(alarm.Properties.OKActions).toEqual([{ Ref: topicId() }]);
    };
    const handlers = [
      ...new Set([...routes.map((route) => route.handler), ...eventFunctions.map((entry) => entry.handler), 'migrate-database']),
    ];

    it('has one alarm topic, TLS only, with no subscription unless alarmEmail is set', () => {
      topicId();
      template.resourceCountIs('AWS::SNS::Subscription', 0);
      const policy = Object.values(resourcesOf(template, 'AWS::SNS::TopicPolicy'))[0]!;
      expect(policy.Properties.PolicyDocument.Statement).toEqual(
        expect.arrayContaining([expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      );
      const withEmail = synth({ alarmEmail: 'oncall@example.com' }, { routes: [routes[0]], eventFunctions: [] });
      withEmail.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com' });
      expect(() => synth({ alarmEmail: 'not-an-address' }, { routes: [routes[0]], eventFunctions: [] })).toThrow(/alarmEmail/);
    });

    it('alarms on each failure queue holding one message or more', () => {
      const queues = Object.keys(resourcesOf(template, 'AWS::SQS::Queue'));
      expect(queues).toHaveLength(eventFunctions.length);
      for (const queue of queues) {
        const alarm = alarms().find((entry) => entry.Properties.Dimensions?.[0]?.Value?.['Fn::GetAtt']?.[0] === queue);
        expect(alarm, queue).toBeDefined();
        expect(alarm!.Properties.AlarmName).toMatch(/^InterviewOps-[a-z-]+-FailuresQueued$/);
        expect(alarm!.Properties).toMatchObject({
          Namespace: 'AWS/SQS',
          MetricName: 'ApproximateNumberOfMessagesVisible',
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        });
        notifiesTopic(alarm!);
      }
    });

    it('keeps failed events 14 days', () => {
      for (const queue of Object.values(resourcesOf(template, 'AWS::SQS::Queue')))
        expect(queue.Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
    });

    it("alarms on each event function's errors and throttles, and once on the API's 5xx for every route", () => {
      const eventHandlers = eventFunctions.map((entry) => entry.handler);
      for (const handler of handlers) {
        const fnId = functionIdOf(template, handler);
        for (const metricName of ['Errors', 'Throttles']) {
          const alarm = alarms().find(
            (entry) => entry.Properties.MetricName === metricName && entry.Properties.Dimensions?.[0]?.Value?.Ref === fnId,
          );
          if (!eventHandlers.includes(handler)) {
            // A route function's failures reach its caller as a 5xx, which the API alarm below counts.
            expect(alarm, `${handler} ${metricName}`).toBeUndefined();
            continue;
          }
          expect(alarm, `${handler} ${metricName}`).toBeDefined();
          expect(alarm!.Properties.AlarmName).toBe(`InterviewOps-${handler}-${metricName}`);
          expect(alarm!.Properties).toMatchObject({
            Namespace: 'AWS/Lambda',
            Threshold: 1,
            ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          });
          notifiesTopic(alarm!);
        }
      }
      const apiAlarm = alarms().find((entry) => entry.Properties.Namespace === 'AWS/ApiGateway');
      expect(apiAlarm).toBeDefined();
      expect(apiAlarm!.Properties).toMatchObject({
        AlarmName: 'InterviewOps-Api-ServerErrors',
        MetricName: '5xx',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      });
      expect(apiAlarm!.Properties.Dimensions).toEqual([{ Name: 'ApiId', Value: { Ref: expect.any(String) } }]);
      notifiesTopic(apiAlarm!);
    });

    const staleAlarm = (custom: Template) => {
      const found = Object.values(custom.findResources('AWS::CloudWatch::Alarm') as Record<string, Resource>).filter((alarm) =>
        (alarm.Properties.Metrics ?? []).some((metric: any) => metric.Expression === 'invocations - errors'),
      );
      expect(found).toHaveLength(1);
      return found[0]!;
    };

    it('alarms when no scheduled snapshot succeeded for snapshotStaleMinutes (5 by default), no data counting as stale', () => {
      const alarm = staleAlarm(template);
      expect(alarm.Properties).toMatchObject({
        AlarmName: 'InterviewOps-SnapshotStale',
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'breaching',
      });
      const inputs = alarm.Properties.Metrics.filter((metric: any) => metric.MetricStat);
      expect(inputs.map((metric: any) => metric.MetricStat.Metric.MetricName).sort()).toEqual(['Errors', 'Invocations']);
      for (const input of inputs) {
        expect(input.MetricStat.Period).toBe(300);
        expect(input.MetricStat.Metric.Dimensions[0].Value).toEqual({ Ref: functionIdOf(template, 'take-scheduled-snapshot') });
      }
      notifiesTopic(alarm);
      const custom = synth(
        { snapshotStaleMinutes: 15 },
        { routes: [routes[0]], eventFunctions: eventFunctions.filter((entry) => entry.trigger.kind === 'schedule') },
      );
      expect(staleAlarm(custom).Properties.Metrics.find((metric: any) => metric.MetricStat).MetricStat.Period).toBe(900);
      expect(() => synth({ snapshotStaleMinutes: 0 }, { routes: [routes[0]], eventFunctions: [] })).toThrow(/snapshotStaleMinutes/);
      // A window no longer than the schedule's period would alarm between two healthy runs.
      expect(() => synth({ snapshotSchedule: 'rate(5 minutes)' }, { routes: [routes[0]], eventFunctions: [] })).toThrow(
        /snapshotStaleMinutes \(5\) must exceed/,
      );
      expect(() =>
        synth({ snapshotSchedule: 'rate(1 hour)', snapshotStaleMinutes: 90 }, { routes: [routes[0]], eventFunctions: [] }),
      ).not.toThrow();
    });

    it('has one dashboard with every function, the queues and the InterviewOps metrics', () => {
      const dashboards = Object.values(resourcesOf(template, 'AWS::CloudWatch::Dashboard'));
      expect(dashboards).toHaveLength(1);
      const body = JSON.stringify(dashboards[0]!.Properties.DashboardBody);
      for (const handler of handlers) expect(body, handler).toContain(functionIdOf(template, handler));
      for (const queue of Object.keys(resourcesOf(template, 'AWS::SQS::Queue'))) expect(body).toContain(queue);
      for (const metric of ['Invocations', 'Errors', 'Duration', 'ApproximateNumberOfMessagesVisible']) expect(body).toContain(metric);
      for (const metric of Object.values(MetricNames))
        expect(body, metric).toContain(`\\"${METRICS_NAMESPACE}\\",\\"${metric}\\",\\"service\\",\\"interview-ops\\"`);
    });

    it('gives every log group a retention, the RDS export included', () => {
      const groups = Object.entries(resourcesOf(template, 'AWS::Logs::LogGroup'));
      expect(groups.length).toBeGreaterThan(handlers.length);
      for (const [id, group] of groups) expect(group.Properties.RetentionInDays, id).toBeGreaterThan(0);
      template.hasResourceProperties('Custom::LogRetention', {
        LogGroupName: { 'Fn::Join': ['', ['/aws/rds/cluster/', { Ref: Match.stringLikeRegexp('^DatabaseCluster') }, '/postgresql']] },
        RetentionInDays: Match.anyValue(),
      });
      // Every function logs to a group the stack makes: its own (LoggingConfig), or one named for it and
      // created before any custom resource runs. CDK's log-retention helper sets its own group's retention.
      const named = groups.map(([, group]) => JSON.stringify(group.Properties.LogGroupName ?? ''));
      for (const [id, fn] of Object.entries(resourcesOf(template, 'AWS::Lambda::Function'))) {
        if (id.startsWith('LogRetention')) continue;
        if (fn.Properties.LoggingConfig) continue;
        expect(
          named.some((name) => name.includes(`"Ref":"${id}"`)),
          id,
        ).toBe(true);
      }
    });

    it('sets the recommended feature flags of the pinned aws-cdk-lib in cdk.json', () => {
      const recommended = JSON.parse(readFileSync(join(PROJECT_ROOT, 'node_modules/aws-cdk-lib/recommended-feature-flags.json'), 'utf8'));
      for (const [flag, value] of Object.entries(recommended)) {
        // The partitions stay ['aws']: the stack is deployed to the commercial partition only.
        if (flag === '@aws-cdk/core:target-partitions') continue;
        expect(CDK_JSON_CONTEXT[flag], flag).toEqual(value);
      }
    });

    it('throttles the public routes on their own, below the stage default', () => {
      const stage = Object.values(resourcesOf(template, 'AWS::ApiGatewayV2::Stage'))[0]!;
      const publicKeys = routes
        .filter((route) => 'public' in route && route.public)
        .map(routeId)
        .sort();
      expect(Object.keys(stage.Properties.RouteSettings).sort()).toEqual(publicKeys);
      for (const key of publicKeys) {
        const settings = stage.Properties.RouteSettings[key];
        // CloudFormation's keys: RouteSettings is a JSON map that CDK passes through unconverted.
        expect(Object.keys(settings).sort()).toEqual(['ThrottlingBurstLimit', 'ThrottlingRateLimit']);
        expect(settings.ThrottlingRateLimit).toBeLessThan(stage.Properties.DefaultRouteSettings.ThrottlingRateLimit);
        expect(settings.ThrottlingBurstLimit).toBeLessThan(stage.Properties.DefaultRouteSettings.ThrottlingBurstLimit);
      }
    });
  });

  it('cdk-nag runs at synth: an unacknowledged finding fails it', () => {
    const app = new App({ context: SKIP_BUNDLING });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    // A queue without a dead-letter queue or TLS enforcement: AwsSolutions-SQS3 and SQS4.
    new Queue(new Stack(app, 'Careless'), 'Queue');
    expect(() => app.synth()).toThrow();
  });
});
