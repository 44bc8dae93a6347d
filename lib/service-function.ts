/**
 * One Lambda function per handler module, with its own role and log group: the role starts empty (no
 * managed policy) and receives exactly the log group, the Data API and the bucket prefixes it needs.
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Tracing } from 'aws-cdk-lib/aws-lambda';
import type { BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { CfnBucket, IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { objectTagsFor } from '../functions/core/lifecycle/retention-tags';
import { adapterDefinesFor, bundlingOptions, FUNCTION_ARCHITECTURE, FUNCTION_RUNTIME } from './bundling';
import type { Database } from './database';
import { databaseLoginOf, type FunctionNeeds } from './function-needs';
import { acknowledgeNag } from './nag';

export interface ServiceFunctionProps {
  /** Absolute path of functions/handlers/<handler>.ts. */
  entry: string;
  projectRoot: string;
  description: string;
  environment: Record<string, string>;
  bucket: IBucket;
  database: Database;
  needs: FunctionNeeds;
  timeout?: Duration;
  memorySize?: number;
  /** Reserved concurrency: both a floor the function keeps and a ceiling it cannot pass. */
  reservedConcurrency?: number;
  bundling?: Partial<BundlingOptions>;
}

export class ServiceFunction extends Construct {
  readonly function: NodejsFunction;

  constructor(scope: Construct, id: string, props: ServiceFunctionProps) {
    super(scope, id);
    const logGroup = new LogGroup(this, 'Logs', { retention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    const role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Runs ${props.description}`,
    });
    role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }),
    );

    this.function = new NodejsFunction(this, 'Function', {
      entry: props.entry,
      handler: 'handler',
      projectRoot: props.projectRoot,
      depsLockFilePath: `${props.projectRoot}/package-lock.json`,
      runtime: FUNCTION_RUNTIME,
      architecture: FUNCTION_ARCHITECTURE,
      description: props.description,
      memorySize: props.memorySize ?? 512,
      ...(props.reservedConcurrency === undefined ? {} : { reservedConcurrentExecutions: props.reservedConcurrency }),
      timeout: props.timeout ?? Duration.seconds(15),
      role,
      logGroup,
      // X-Ray traces of every invocation; Powertools Tracer adds the AWS SDK calls (functions/tracing.ts).
      tracing: Tracing.ACTIVE,
      environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment, ...databaseEnvironment(props.database, props.needs) },
      bundling: bundlingOptions({ define: adapterDefinesFor(props.needs), ...props.bundling }),
    });

    grantDatabaseNeeds(role, props.database, props.needs);
    acknowledgeNag(
      role,
      'IAM5[Resource::*]',
      `Actions that support no resource-level permissions are the only ones granted on *: xray:PutTraceSegments and PutTelemetryRecords (active tracing)${props.needs.transcribe ? ', transcribe:StartStreamTranscription' : ''}${props.needs.batchTranscribe ? ', transcribe:StartTranscriptionJob' : ''}.`,
    );
    grantBucketNeeds(role, props.bucket, props.needs);
    if (props.needs.transcribe) {
      // Amazon Transcribe streaming has no resource-level permissions: '*' is the only resource it accepts.
      role.addToPrincipalPolicy(new PolicyStatement({ actions: ['transcribe:StartStreamTranscription'], resources: ['*'] }));
    }
    if (props.needs.batchTranscribe) {
      // StartTranscriptionJob has no resource type either (the IAM reference, and iam-simulate in the twin): '*' only.
      role.addToPrincipalPolicy(new PolicyStatement({ actions: ['transcribe:StartTranscriptionJob'], resources: ['*'] }));
    }
    acknowledgePrefixWildcards(role, props.bucket, props.needs);
  }
}

const DATA_API_ACTIONS = [
  'rds-data:BatchExecuteStatement',
  'rds-data:BeginTransaction',
  'rds-data:CommitTransaction',
  'rds-data:ExecuteStatement',
  'rds-data:RollbackTransaction',
];

/**
 * The Data API on the cluster and read access to the secret of the function's own login only
 * (cluster.grantDataApiAccess would add the master secret). The migrator, the one owner, also reads the
 * other logins' secrets: it sets their passwords.
 */
const grantDatabaseNeeds = (role: Role, database: Database, needs: FunctionNeeds) => {
  const login = databaseLoginOf(needs);
  if (!login) return;
  role.addToPrincipalPolicy(new PolicyStatement({ actions: DATA_API_ACTIONS, resources: [database.cluster.clusterArn] }));
  database.secrets[login].grantRead(role);
  if (login === 'owner') {
    database.secrets.app.grantRead(role);
    database.secrets.reader.grantRead(role);
  }
};

/** DB_SECRET_ARN names the function's login; the migrator also gets the secrets of the logins it provisions. */
const databaseEnvironment = (database: Database, needs: FunctionNeeds): Record<string, string> => {
  const login = databaseLoginOf(needs);
  if (!login) return {};
  return {
    DB_CLUSTER_ARN: database.cluster.clusterArn,
    DB_SECRET_ARN: database.secrets[login].secretArn,
    ...(login === 'owner'
      ? { DB_APP_SECRET_ARN: database.secrets.app.secretArn, DB_READER_SECRET_ARN: database.secrets.reader.secretArn }
      : {}),
  };
};

const objectArns = (bucket: IBucket, prefixes: readonly string[] = []) => prefixes.map((prefix) => bucket.arnForObjects(`${prefix}*`));

const grantBucketNeeds = (role: Role, bucket: IBucket, needs: FunctionNeeds) => {
  const statements: PolicyStatement[] = [];
  // Writers read too: after a write the S3 adapter heads the object for the size and timestamp S3
  // recorded, and HeadObject is authorized by s3:GetObject.
  const readable = [...new Set([...(needs.read ?? []), ...(needs.write ?? [])])];
  if (readable.length) statements.push(new PolicyStatement({ actions: ['s3:GetObject'], resources: objectArns(bucket, readable) }));
  if (needs.write?.length) {
    statements.push(
      new PolicyStatement({ actions: ['s3:PutObject', 's3:AbortMultipartUpload'], resources: objectArns(bucket, needs.write) }),
    );
  }
  if (needs.delete?.length)
    statements.push(new PolicyStatement({ actions: ['s3:DeleteObject'], resources: objectArns(bucket, needs.delete) }));
  const tagged = [...new Set([...(needs.tag ?? []), ...(needs.write ?? []).filter((prefix) => objectTagsFor(prefix) !== undefined)])];
  if (tagged.length) statements.push(new PolicyStatement({ actions: ['s3:PutObjectTagging'], resources: objectArns(bucket, tagged) }));
  if (needs.pingBucket || needs.read?.length || needs.list?.length) {
    // One unconditioned s3:ListBucket: HeadBucket (the health probe) carries no prefix, and without
    // ListBucket S3 answers a read of a missing key with 403 instead of the 404 the adapter maps to
    // "not found". It reveals key names, never contents; the object actions stay per prefix.
    statements.push(new PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucket.bucketArn] }));
  }
  for (const statement of statements) role.addToPrincipalPolicy(statement);
};

/** Object actions are granted on `<bucket>/<prefix>*`: the wildcard is the prefix boundary, not a widening. */
const acknowledgePrefixWildcards = (role: Role, bucket: IBucket, needs: FunctionNeeds) => {
  const stack = Stack.of(role);
  const cfnBucket = bucket.node.defaultChild as CfnBucket | undefined;
  if (!cfnBucket) return;
  const bucketLogicalId = stack.resolve(stack.getLogicalId(cfnBucket)) as string;
  const prefixes = new Set([...(needs.read ?? []), ...(needs.write ?? []), ...(needs.delete ?? []), ...(needs.tag ?? [])]);
  for (const prefix of prefixes) {
    acknowledgeNag(
      role,
      `IAM5[Resource::<${bucketLogicalId}.Arn>/${prefix}*]`,
      `Object actions limited to the key prefix ${prefix} that this function owns or reads.`,
    );
  }
};
