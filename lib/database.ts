/**
 * Aurora Serverless v2 PostgreSQL, reached only through the RDS Data API: the functions run outside the
 * VPC and call HTTPS, so the cluster sits in isolated subnets with no route in or out and no ingress rule.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { FlowLogDestination, FlowLogTrafficType, SubnetType, Vpc } from 'aws-cdk-lib/aws-ec2';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { AuroraPostgresEngineVersion, ClusterInstance, Credentials, DatabaseCluster, DatabaseClusterEngine } from 'aws-cdk-lib/aws-rds';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { DatabaseLogin } from './function-needs';
import { acknowledgeNag } from './nag';

export const DATABASE_NAME = 'interview_ops';

/** The PostgreSQL user of each login; the migrator reads the name from the secret, so it is defined here only. */
export const DATABASE_USERS: Readonly<Record<DatabaseLogin, string>> = {
  owner: 'interview_ops_admin',
  app: 'interview_ops_app',
  reader: 'interview_ops_reader',
};

const ROTATION_REASON =
  'Rotation needs a rotation Lambda inside the VPC with a route to Secrets Manager; the cluster is reachable only through the Data API with IAM, so the secret never leaves AWS. Rotate with `aws secretsmanager rotate-secret` when required.';

export interface DatabaseProps {
  deletionProtection: boolean;
  /** Aurora Serverless v2 capacity floor in ACU; 0 lets the cluster pause when idle. */
  minCapacity: number;
  maxCapacity: number;
  /** Seconds without connections before a cluster at 0 ACU pauses (300 to 86400). */
  secondsUntilAutoPause: number;
}

export class Database extends Construct {
  readonly cluster: DatabaseCluster;
  readonly vpc: Vpc;
  /** The secret of each login: the master (owner), and the two the migrator provisions (app, reader). */
  readonly secrets: Readonly<Record<DatabaseLogin, ISecret>>;

  constructor(scope: Construct, id: string, props: DatabaseProps) {
    super(scope, id);
    this.vpc = new Vpc(this, 'Network', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'database', subnetType: SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
    });
    this.vpc.addFlowLog('FlowLog', {
      destination: FlowLogDestination.toCloudWatchLogs(new LogGroup(this, 'FlowLogs', { retention: RetentionDays.ONE_MONTH })),
      trafficType: FlowLogTrafficType.REJECT,
    });
    this.cluster = new DatabaseCluster(this, 'Cluster', {
      engine: DatabaseClusterEngine.auroraPostgres({ version: AuroraPostgresEngineVersion.VER_16_6 }),
      writer: ClusterInstance.serverlessV2('writer'),
      serverlessV2MinCapacity: props.minCapacity,
      serverlessV2MaxCapacity: props.maxCapacity,
      ...(props.minCapacity === 0 ? { serverlessV2AutoPauseDuration: Duration.seconds(props.secondsUntilAutoPause) } : {}),
      vpc: this.vpc,
      vpcSubnets: { subnetType: SubnetType.PRIVATE_ISOLATED },
      credentials: Credentials.fromGeneratedSecret(DATABASE_USERS.owner),
      defaultDatabaseName: DATABASE_NAME,
      enableDataApi: true,
      iamAuthentication: true,
      storageEncrypted: true,
      deletionProtection: props.deletionProtection,
      backup: { retention: Duration.days(7) },
      cloudwatchLogsExports: ['postgresql'],
      // The exported log group is RDS's own; CDK's log-retention helper gives it the same month as the rest.
      cloudwatchLogsRetention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.SNAPSHOT,
    });
    if (!props.deletionProtection) {
      acknowledgeNag(
        this.cluster,
        'RDS10',
        'Off until the stack is live (context databaseDeletionProtection=true): a protected cluster would make a failed first deploy unable to roll back. Deleting it keeps a final snapshot.',
      );
    }
    acknowledgeNag(this.cluster.node.findChild('Secret'), 'SMG4', ROTATION_REASON);
    this.secrets = {
      owner: this.cluster.secret!,
      app: this.loginSecret('AppSecret', 'app'),
      reader: this.loginSecret('ReaderSecret', 'reader'),
    };
  }

  /** A generated password for a login the migrator creates; the Data API reads `username` and `password`. */
  private loginSecret(id: string, login: DatabaseLogin): Secret {
    const secret = new Secret(this, id, {
      description: `PostgreSQL login ${DATABASE_USERS[login]} of ${DATABASE_NAME}, created by the migration function`,
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ username: DATABASE_USERS[login] }),
        generateStringKey: 'password',
        excludePunctuation: true,
        passwordLength: 32,
      },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    acknowledgeNag(secret, 'SMG4', ROTATION_REASON);
    return secret;
  }
}
