/**
 * The bucket: private, encrypted, TLS only, with server access logs, and snapshots expiring after the
 * retention period (the bucket does it, so a missed snapshot run never leaves old ones behind). Each
 * per-session object kind with a retention period expires by a rule that only matches objects tagged
 * `retention=expires`: a legal hold re-tags its session's objects `held` (functions/core/lifecycle).
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { BlockPublicAccess, Bucket, BucketEncryption, HttpMethods, type LifecycleRule, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import {
  type RetentionClass,
  SESSION_OBJECT_KINDS,
  SNAPSHOT_SEGMENTS_PREFIX,
  SNAPSHOTS_PREFIX,
  TRANSCRIBE_OUTPUT_PREFIX,
} from '../functions/core/keys';
import { EXPIRING_TAG } from '../functions/core/lifecycle/retention-tags';
import { segmentLifetimeDays } from '../functions/core/snapshots/segment-pieces';
import { CORS_MAX_AGE_SECONDS, CORS_UPLOAD_EXPOSE_HEADERS, CORS_UPLOAD_HEADERS } from '../functions/http/cors';

export interface StorageProps {
  snapshotRetentionDays: number;
  /** Origins whose pages PUT direct uploads (stack setting corsOrigins); empty: any origin. */
  corsOrigins?: readonly string[];
  /** Days per retention class; a class left out is kept until its session is erased. */
  retentionDays?: Partial<Record<RetentionClass, number>>;
}

/** One rule per per-session kind whose class has a period: its prefix, and only objects tagged to expire. */
export const sessionObjectRules = (retentionDays: Partial<Record<RetentionClass, number>> = {}): LifecycleRule[] =>
  Object.entries(SESSION_OBJECT_KINDS).flatMap(([kind, { prefix, retention }]) => {
    const days = retentionDays[retention];
    return days === undefined
      ? []
      : [{ id: `expire-${kind.replaceAll('_', '-')}`, prefix, tagFilters: { ...EXPIRING_TAG }, expiration: Duration.days(days) }];
  });

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
        ...sessionObjectRules(props.retentionDays),
        // Pieces outlive the manifests that name them: see segmentLifetimeDays.
        {
          id: 'expire-snapshot-segments',
          prefix: SNAPSHOT_SEGMENTS_PREFIX,
          expiration: Duration.days(segmentLifetimeDays(props.snapshotRetentionDays)),
        },
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
        // A batch job's output is copied into the transcript files when it ends; the copy here is for inspection.
        { id: 'expire-transcribe-output', prefix: TRANSCRIBE_OUTPUT_PREFIX, expiration: Duration.days(14) },
      ],
      // Browsers PUT direct uploads to presigned URLs and GET snapshot parts too big for a response (the URL
      // is the credential); nothing else crosses origins. With corsOrigins set, only those origins' pages
      // may; unset, any page (a platform's backend may hand the URL to its own page, whose origin this
      // stack does not know).
      cors: [
        {
          allowedMethods: [HttpMethods.PUT, HttpMethods.GET],
          allowedOrigins: props.corsOrigins?.length ? [...props.corsOrigins] : ['*'],
          allowedHeaders: CORS_UPLOAD_HEADERS,
          exposedHeaders: CORS_UPLOAD_EXPOSE_HEADERS,
          maxAge: CORS_MAX_AGE_SECONDS,
        },
      ],
      // Transcripts and audio are the product: a stack deletion must not take them along.
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
