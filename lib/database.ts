/**
 * Aurora Serverless v2 PostgreSQL, reached only through the RDS Data API: the functions run outside the
 * VPC and call HTTPS, so the cluster sits in isolated subnets with no route in or out and no ingress rule.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { FlowLogDestination, FlowLogTrafficType, SubnetType, Vpc } from 'aws-cdk-lib/aws-ec2';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { AuroraPostgresEngineVersion, ClusterInstance, Credentials, DatabaseCluster, DatabaseClusterEngine } from 'aws-cdk-lib/aws-rds';
import { Construct } from 'constructs';
import { acknowledgeNag } from './nag';

export const DATABASE_NAME = 'interview_ops';

export interface DatabaseProps {
  deletionProtection: boolean;
}

export class Database extends Construct {
  readonly cluster: DatabaseCluster;
  readonly vpc: Vpc;

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
      serverlessV2MinCapacity: 0.5,
      serverlessV2MaxCapacity: 4,
      vpc: this.vpc,
      vpcSubnets: { subnetType: SubnetType.PRIVATE_ISOLATED },
      credentials: Credentials.fromGeneratedSecret('interview_ops_admin'),
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
    acknowledgeNag(
      this.cluster.node.findChild('Secret'),
      'SMG4',
      'Rotation needs a rotation Lambda inside the VPC with a route to Secrets Manager; the cluster is reachable only through the Data API with IAM, so the secret never leaves AWS. Rotate with `aws secretsmanager rotate-secret` when required.',
    );
  }
}
