/**
 * The twin: the stack `cdk synth` wrote to cdk.out, run on this machine as AWS runs it. Functions run
 * from their bundles with the template's settings and their own role's credentials; every AWS call they
 * make reaches a local stand-in behind the IAM gate. See docs/twin.md.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ApiGateway, startApiGateway } from './api-gateway';
import { type DataApi, startDataApi } from './data-api/server';
import { type DeployResult, deployStack } from './deploy';
import { startEvents, type TwinEvents } from './events';
import { createGate, type TwinGate } from './iam/gate';
import { CALLER_CREDENTIALS, credentialsOfRole, TWIN_ACCOUNT, TWIN_REGION, type TwinCredentials } from './identity';
import { type FunctionRuntime, functionRuntimeOf, type InvokeResult } from './lambda/runtime';
import { type PostgresServer, startPostgresServer } from './postgres-server';
import type { S3CorsRule } from './s3/cors';
import { startS3, type TwinS3 } from './s3/index';
import { startSecretsManager, type TwinSecretsManager } from './secrets-manager/server';
import { loadTemplate, type TwinFunction, type TwinTemplate } from './template';
import { startTranscribeBatch, type TranscribeBatch, type TranscriptionJobEnd } from './transcribe/batch';
import { startTranscribeStreaming, type TranscribeStreamingServer } from './transcribe/server';
import { startXrayDaemon, type XrayDaemon } from './xray';

export interface TwinOptions {
  /** The cloud assembly `cdk synth` wrote. */
  cdkOutDir: string;
  /** The API's port; 0 picks a free one. */
  port?: number;
  /** Seconds between scheduled events (the template's rate(1 minute) is 60). */
  scheduleSeconds?: number;
  /** Seconds before an asynchronous invocation is retried (about 60 on AWS). */
  retryDelaySeconds?: number;
  /** Transcribe's concurrent-stream quota (25 by default on AWS). */
  transcribeStreams?: number;
  /** Every line the functions and the stand-ins print. */
  log?: (line: string) => void;
}

export interface Twin {
  url: string;
  template: TwinTemplate;
  /** Credentials a client signs its API requests with. */
  credentials: TwinCredentials;
  region: string;
  bucket: string;
  deploy: DeployResult;
  gate: TwinGate;
  s3: TwinS3;
  dataApi: DataApi;
  secretsManager: TwinSecretsManager;
  /** The segments traced functions sent. */
  xray: XrayDaemon;
  transcribe: TranscribeStreamingServer;
  /** Amazon Transcribe batch; failJobs() makes its jobs fail. */
  transcribeBatch: TranscribeBatch;
  events: TwinEvents;
  functions: ReadonlyMap<string, FunctionRuntime>;
  stop(): Promise<void>;
}

const DATABASE = 'interview_ops';

/** The secret RDS attaches to the cluster: its master user's. */
const masterSecretOf = (template: TwinTemplate): string => {
  const [attachment] = template
    .ofType('AWS::SecretsManager::SecretTargetAttachment')
    .filter((id) => template.resources[id]!.Properties.TargetType === 'AWS::RDS::DBCluster');
  if (!attachment) throw new Error('no secret is attached to the database cluster');
  return template.physicalId(attachment);
};

/** The SQL string literal of a value. */
const literal = (value: string) => `'${value.replace(/'/g, "''")}'`;

/** The bucket, cluster and secret the functions' environment names. */
const resourcesOf = (template: TwinTemplate) => {
  const [fn] = Object.values(template.functions()).filter(
    (candidate) => candidate.environment.BUCKET_NAME && candidate.environment.DB_SECRET_ARN,
  );
  const clusterArn = fn?.environment.DB_CLUSTER_ARN;
  if (!fn || !clusterArn) throw new Error('no function names the bucket, the database cluster and its secret');
  return {
    bucket: fn.environment.BUCKET_NAME!,
    clusterArn,
    secretArn: fn.environment.DB_SECRET_ARN!,
    database: fn.environment.DB_NAME ?? DATABASE,
  };
};

/** The data bucket's CORS rules, which S3 applies to browsers' requests. */
const corsRulesOf = (template: TwinTemplate, bucket: string): S3CorsRule[] | undefined => {
  const id = template.ofType('AWS::S3::Bucket').find((candidate) => template.physicalId(candidate) === bucket);
  return id ? template.resources[id]!.Properties.CorsConfiguration?.CorsRules : undefined;
};

export const startTwin = async (options: TwinOptions): Promise<Twin> => {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const template = loadTemplate(options.cdkOutDir);
  const names = resourcesOf(template);
  const gate = createGate({ template, log });
  const closers: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  };
  try {
    // Secret values are generated now, as CloudFormation generates them when it creates each secret.
    const secretsManager = await startSecretsManager({ template, gate });
    closers.push(() => secretsManager.close());
    // Logins give their password, as on Aurora. The master user is no superuser (Aurora's is rds_superuser):
    // it may create roles and owns the database, so the migrator runs with what it has there.
    const postgres: PostgresServer = await startPostgresServer({ passwordLogins: true });
    closers.push(() => postgres.stop());
    const master = secretsManager.json(masterSecretOf(template));
    if (typeof master?.username !== 'string' || typeof master.password !== 'string') throw new Error('the master secret has no login');
    await postgres.command('psql', [
      '-d',
      'postgres',
      '-c',
      `CREATE ROLE "${master.username}" LOGIN CREATEROLE PASSWORD ${literal(master.password)}`,
      '-c',
      `CREATE DATABASE ${names.database} OWNER "${master.username}"`,
    ]);
    const databaseUrl = postgres.url.replace(/\/postgres$/, `/${names.database}`);
    const loginOf = (secretArn: string) => {
      const value = secretsManager.json(secretArn);
      return typeof value?.username === 'string' && typeof value.password === 'string'
        ? { username: value.username, password: value.password }
        : undefined;
    };

    const [s3, dataApi, transcribe] = await Promise.all([
      startS3({ gate, bucket: names.bucket, corsRules: corsRulesOf(template, names.bucket) }),
      startDataApi({ databaseUrl, gate, clusterArn: names.clusterArn, secretArn: names.secretArn, database: names.database, loginOf }),
      startTranscribeStreaming({ gate, ...(options.transcribeStreams ? { maxConcurrentStreams: options.transcribeStreams } : {}) }),
    ]);
    closers.push(
      () => s3.close(),
      () => dataApi.close(),
      () => transcribe.close(),
    );

    const xray = await startXrayDaemon();
    closers.push(() => xray.close());
    // Transcribe batch announces its jobs' ends on EventBridge, which starts after deploy.
    let announceJobEnd: (event: TranscriptionJobEnd) => void = () => undefined;
    const transcribeBatch = await startTranscribeBatch({ gate, s3Url: s3.url, onJobEnded: (event) => announceJobEnd(event) });
    closers.push(() => transcribeBatch.close());

    const functions = new Map<string, FunctionRuntime>();
    closers.push(() => Promise.all([...functions.values()].map((fn) => fn.close())));
    const runtimeOf = (fn: TwinFunction) =>
      functionRuntimeOf(fn, {
        environment: {
          ...(fn.roleLogicalId ? credentialEnvironment(credentialsOfRole(fn.roleLogicalId)) : {}),
          AWS_ENDPOINT_URL_S3: s3.url,
          AWS_ENDPOINT_URL_RDS_DATA: dataApi.url,
          AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.url,
          // What Lambda sets for a function with active tracing.
          ...(fn.tracing === 'Active' ? { AWS_XRAY_DAEMON_ADDRESS: xray.address, AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR' } : {}),
          AWS_ENDPOINT_URL_TRANSCRIBE_STREAMING: transcribe.url,
          AWS_ENDPOINT_URL_TRANSCRIBE: transcribeBatch.url,
        },
        region: TWIN_REGION,
        accountId: TWIN_ACCOUNT,
        log,
      });
    const roleOf = (logicalId: string) => template.functions()[logicalId]?.roleLogicalId ?? '';
    // Calls are counted per role, so two invocations of one function at once share their counts.
    const callsOf = (role: string) => ({ ...gate.counts()[role] });
    const invoke = async (
      logicalId: string,
      event: unknown,
      invocationType: 'RequestResponse' | 'Event' = 'RequestResponse',
      requestId?: string,
    ): Promise<InvokeResult> => {
      const fn = functions.get(logicalId);
      if (!fn)
        return { ok: false, errorType: 'ResourceNotFoundException', errorMessage: `Function not found: ${logicalId}`, requestId: '' };
      const before = callsOf(roleOf(logicalId));
      const result = await fn.invoke(event, { invocationType, ...(requestId ? { requestId } : {}) });
      const calls = Object.fromEntries(
        Object.entries(callsOf(roleOf(logicalId)))
          .map(([service, count]) => [service, count - (before[service] ?? 0)])
          .filter(([, count]) => Number(count) > 0),
      );
      log(JSON.stringify({ twin: 'calls', function: logicalId, requestId: result.requestId, calls }));
      return result;
    };

    const deploy = await deployStack(template, {
      async create(logicalId) {
        const resource = template.resources[logicalId]!;
        if (resource.Type === 'AWS::Lambda::Function') {
          const fn = template.functions()[logicalId];
          if (fn?.assetDir) functions.set(logicalId, runtimeOf(fn));
        } else if (resource.Type === 'Custom::Trigger') {
          const handler = template.logicalIdOf(String(resource.Properties.HandlerArn).replace(/:\d+$/, ''));
          const result = await invoke(handler ?? '', {});
          if (!result.ok) throw new Error(`${result.errorType}: ${result.errorMessage}`);
        }
      },
    });
    if (deploy.status !== 'CREATE_COMPLETE') throw new Error(`deploy failed: ${deploy.failure?.logicalId}: ${deploy.failure?.reason}`);

    const queuesDir = await mkdtemp(join(tmpdir(), 'twin-queues-'));
    closers.push(() => rm(queuesDir, { recursive: true, force: true }));
    const events = startEvents({
      template,
      invokeAsync: (logicalId, event, requestId) => invoke(logicalId, event, 'Event', requestId),
      queuesDir,
      retryDelaySeconds: options.retryDelaySeconds ?? 60,
      scheduleSeconds: options.scheduleSeconds ?? 60,
    });
    closers.push(() => events.close());
    s3.onObjectCreated((record) => events.onObjectCreated(record));
    announceJobEnd = (event) => events.putServiceEvent(event);

    const api: ApiGateway = await startApiGateway({
      template,
      invoke: (logicalId, event) => invoke(logicalId, event),
      authorizeCaller: async (request) => {
        const answer = await gate.authorize('execute-api', { ...request, body: request.body }, [
          { action: request.action, resource: request.resource },
        ]);
        return answer.allowed ? { allowed: true, accessKey: CALLER_CREDENTIALS.accessKeyId, accountId: TWIN_ACCOUNT } : { allowed: false };
      },
      ...(options.port === undefined ? {} : { port: options.port }),
    });
    closers.push(() => api.close());

    return {
      url: api.url,
      template,
      credentials: CALLER_CREDENTIALS,
      region: TWIN_REGION,
      bucket: names.bucket,
      deploy,
      gate,
      s3,
      dataApi,
      secretsManager,
      xray,
      transcribe,
      transcribeBatch,
      events,
      functions,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
};

const credentialEnvironment = (credentials: TwinCredentials): Record<string, string> => ({
  AWS_ACCESS_KEY_ID: credentials.accessKeyId,
  AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
  ...(credentials.sessionToken ? { AWS_SESSION_TOKEN: credentials.sessionToken } : {}),
});
