/**
 * The whole service on AWS, built from the route table: an HTTP API with one function per route, the
 * event-driven functions, the bucket, the Aurora cluster behind the Data API, and a deploy-time trigger
 * that migrates the schema. Nothing here names a route; functions/routes.ts does.
 */
import { join } from 'node:path';
import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Trigger } from 'aws-cdk-lib/triggers';
import type { Construct } from 'constructs';
import {
  type EventFunctionDefinition,
  eventFunctions,
  ROUTE_TIMEOUT_SECONDS,
  type RouteDefinition,
  routeId,
  routes,
  timeoutSecondsOf,
} from '../functions/routes';
import { withMigrationFiles } from './bundling';
import { DATABASE_NAME, Database } from './database';
import { EventWiring } from './event-wiring';
import { needsOf } from './function-needs';
import { giveHelperFunctionsLogGroups } from './helper-log-groups';
import { HttpEndpoint } from './http-api';
import { acknowledgeNag } from './nag';
import { Observability, type ObservedFunction, type ObservedQueue } from './observability';
import { PROJECT_ROOT } from './project-root';
import { ServiceFunction } from './service-function';
import { readStackSettings } from './stack-settings';
import { Storage } from './storage';

/** Transcribe's concurrent-stream quota, shared: most for inserted chunks, the rest for on-request transcription. */
export const transcribeStreamShares = (quota: number) => {
  const onDemand = Math.max(1, Math.floor(quota / 5));
  return { onDemand, inserted: quota - onDemand };
};

const isEventHandler = (handler: string) => eventFunctions.some((definition) => definition.handler === handler);

const handlerEntry = (handler: string) => join(PROJECT_ROOT, 'functions', 'handlers', `${handler}.ts`);

/** CloudFormation logical-id-safe name for a handler: 'get-session' → 'GetSession'. */
export const constructIdOf = (handler: string) =>
  handler
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');

export interface InterviewOpsStackProps extends StackProps {
  /** Route and event tables; the defaults are functions/routes.ts. Tests pass smaller ones. */
  routes?: readonly RouteDefinition[];
  eventFunctions?: readonly EventFunctionDefinition[];
}

export class InterviewOpsStack extends Stack {
  constructor(scope: Construct, id: string, props: InterviewOpsStackProps = {}) {
    super(scope, id, props);
    const settings = readStackSettings(this.node);
    const storage = new Storage(this, 'Storage', {
      snapshotRetentionDays: settings.snapshotRetentionDays,
      corsOrigins: settings.corsOrigins,
      retentionDays: {
        ...(settings.audioRetentionDays === undefined ? {} : { audio: settings.audioRetentionDays }),
        ...(settings.transcriptRetentionDays === undefined ? {} : { transcripts: settings.transcriptRetentionDays }),
      },
    });
    const database = new Database(this, 'Database', {
      deletionProtection: settings.databaseDeletionProtection,
      minCapacity: settings.databaseMinCapacity,
      maxCapacity: settings.databaseMaxCapacity,
      secondsUntilAutoPause: settings.databaseSecondsUntilAutoPause,
    });

    const environment = {
      BUCKET_NAME: storage.bucket.bucketName,
      // DB_CLUSTER_ARN and DB_SECRET_ARN only for functions that use the database, with their own login's secret (service-function.ts).
      DB_NAME: DATABASE_NAME,
      RUN_MIGRATIONS_AT_START: 'false',
      TRANSCRIBER: 'aws-transcribe',
      TRANSCRIBE_LANGUAGE: settings.transcribeLanguage,
      ...(settings.transcribeLanguageOptions.length > 0
        ? { TRANSCRIBE_LANGUAGE_OPTIONS: settings.transcribeLanguageOptions.join(',') }
        : {}),
      SNAPSHOT_RETENTION_DAYS: String(settings.snapshotRetentionDays),
      // The bucket's lifecycle rule expires snapshots, so the snapshot functions get no s3:DeleteObject (function-needs.ts).
      SNAPSHOT_RETENTION_BY: 'bucket-lifecycle',
      ...(settings.audioRetentionDays === undefined ? {} : { AUDIO_RETENTION_DAYS: String(settings.audioRetentionDays) }),
      ...(settings.transcriptRetentionDays === undefined ? {} : { TRANSCRIPT_RETENTION_DAYS: String(settings.transcriptRetentionDays) }),
      ...(settings.sessionRetentionDays === undefined ? {} : { SESSION_RETENTION_DAYS: String(settings.sessionRetentionDays) }),
      LOG_LEVEL: 'INFO',
    };
    const streams = transcribeStreamShares(settings.transcribeStreamQuota);
    const servingFunctions: NodejsFunction[] = [];
    const observed: ObservedFunction[] = [];
    const functionFor = (handler: string, description: string, extra: Partial<ConstructorParameters<typeof ServiceFunction>[2]> = {}) => {
      const needs = needsOf(handler);
      const fn = new ServiceFunction(this, constructIdOf(handler), {
        entry: handlerEntry(handler),
        projectRoot: PROJECT_ROOT,
        description,
        environment,
        bucket: storage.bucket,
        database,
        needs,
        ...(needs.transcribe ? { reservedConcurrency: isEventHandler(handler) ? streams.inserted : streams.onDemand } : {}),
        ...extra,
      }).function;
      servingFunctions.push(fn);
      observed.push({ handler, function: fn });
      return fn;
    };

    // One function per handler module; two routes naming the same handler share it.
    const routeFunctions = new Map<string, ReturnType<typeof functionFor>>();
    const apiRoutes = (props.routes ?? routes).map((route) => {
      let fn = routeFunctions.get(route.handler);
      if (!fn) {
        // The routes the table gives more than a plain call's time transcribe or snapshot on request: they
        // get more memory (and so more CPU) as well.
        const timeoutSeconds = timeoutSecondsOf(route);
        fn = functionFor(route.handler, `${routeId(route)}: ${route.summary}`.slice(0, 256), {
          timeout: Duration.seconds(timeoutSeconds),
          ...(timeoutSeconds > ROUTE_TIMEOUT_SECONDS ? { memorySize: 1024 } : {}),
        });
        routeFunctions.set(route.handler, fn);
      }
      return { route, function: fn };
    });
    const endpoint = new HttpEndpoint(this, 'Http', { routes: apiRoutes, settings });

    const failureQueues: ObservedQueue[] = [];
    const observedEvents: ObservedFunction[] = [];
    let snapshotFunction: NodejsFunction | undefined;
    for (const definition of props.eventFunctions ?? eventFunctions) {
      const fn = functionFor(definition.handler, definition.summary.slice(0, 256), {
        timeout: Duration.seconds(definition.timeoutSeconds),
        memorySize: 1024,
      });
      if (definition.trigger.kind === 'schedule') snapshotFunction = fn;
      const wiring = new EventWiring(this, `${constructIdOf(definition.handler)}Events`, {
        trigger: definition.trigger,
        function: fn,
        bucket: storage.bucket,
        snapshotSchedule: settings.snapshotSchedule,
        retentionSweepSchedule: settings.retentionSweepSchedule,
      });
      failureQueues.push({ handler: definition.handler, queue: wiring.failures });
      observedEvents.push({ handler: definition.handler, function: fn });
    }

    const migrator = functionFor('migrate-database', 'Applies db/migrations through the Data API after each deploy', {
      timeout: Duration.minutes(5),
      bundling: withMigrationFiles(PROJECT_ROOT),
    });
    // Runs when its code changes, which includes the SQL files bundled with it. Every other function
    // (and so every route, notification and schedule that invokes one) is created or updated after it,
    // so no code runs against a schema older than it expects.
    new Trigger(this, 'MigrateAfterDeploy', {
      handler: migrator,
      executeAfter: [database.cluster],
      executeBefore: servingFunctions.filter((fn) => fn !== migrator),
      executeOnHandlerChange: true,
      timeout: Duration.minutes(10),
    });

    const observability = new Observability(this, 'Observability', {
      functions: observed,
      eventFunctions: observedEvents,
      api: endpoint.api,
      failureQueues,
      ...(snapshotFunction ? { snapshotFunction } : {}),
      snapshotStaleMinutes: settings.snapshotStaleMinutes,
      ...(settings.alarmEmail ? { alarmEmail: settings.alarmEmail } : {}),
    });

    new CfnOutput(this, 'AlarmTopicArn', { value: observability.topic.topicArn, description: 'Every alarm notifies this SNS topic' });
    new CfnOutput(this, 'BucketName', { value: storage.bucket.bucketName });
    new CfnOutput(this, 'ClusterArn', { value: database.cluster.clusterArn });
    new CfnOutput(this, 'ApiUrl', {
      value: endpoint.url,
      description: 'Base URL of the API; sign requests with SigV4 unless authMode=jwt',
    });
    // Every log group has a retention: ours are made with their functions (service-function.ts), the one RDS
    // exports to by the cluster's cloudwatchLogsRetention, and CDK's own helpers' here.
    giveHelperFunctionsLogGroups(this, servingFunctions, RetentionDays.ONE_MONTH);
    for (const child of this.node.children) {
      if (child.node.id.startsWith('BucketNotificationsHandler')) {
        acknowledgeNag(
          child,
          'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
          "CDK's own S3 notification handler (a deploy-time custom resource); its role cannot be replaced, and it only writes its logs",
        );
      }
      if (child.node.id.startsWith('LogRetention')) {
        // CDK's log-retention helper, created by the cluster's cloudwatchLogsRetention for the log group RDS makes.
        acknowledgeNag(
          child,
          'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
          "CDK's own log-retention helper (a deploy-time custom resource); its role cannot be replaced, and the policy only writes its logs",
        );
        acknowledgeNag(
          child,
          'IAM5[Resource::*]',
          "CDK's own log-retention helper: logs:PutRetentionPolicy and DeleteRetentionPolicy on *, since the RDS log group's name is only known once RDS creates it",
        );
      }
    }
  }
}
