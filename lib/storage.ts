/**
 * The bucket: private, encrypted, TLS only, with server access logs, and snapshots expiring after the
 * retention period (the bucket does it, so a missed snapshot run never leaves old ones behind).
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { SNAPSHOT_SEGMENTS_PREFIX, SNAPSHOTS_PREFIX } from '../functions/core/keys';
import { segmentLifetimeDays } from '../functions/core/snapshots/segment-pieces';

export interface StorageProps {
  snapshotRetentionDays: number;
}

export class Storage extends Construct {
  readonly bucket: Bucket;
  readonly accessLogs: Bucket;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);
    this.accessLogs = new Bucket(this, 'AccessLogs', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(90) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.bucket = new Bucket(this, 'Data', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'data-bucket/',
      lifecycleRules: [
        { id: 'expire-snapshots', prefix: SNAPSHOTS_PREFIX, expiration: Duration.days(props.snapshotRetentionDays) },
        // Pieces outlive the manifests that name them: see segmentLifetimeDays.
        {
          id: 'expire-snapshot-segments',
          prefix: SNAPSHOT_SEGMENTS_PREFIX,
          expiration: Duration.days(segmentLifetimeDays(props.snapshotRetentionDays)),
        },
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      // Transcripts and audio are the product: a stack deletion must not take them along.
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
