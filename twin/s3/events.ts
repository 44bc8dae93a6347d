/**
 * The S3 event record S3 hands its notification targets when an object is created. Keys are URL-encoded
 * as S3 does it (spaces as '+', '/' kept), unlike s3rver's own events.
 */
import type { S3EventRecord } from 'aws-lambda';
import { TWIN_REGION } from '../identity';

export type ObjectCreatedEventName =
  | 'ObjectCreated:Put'
  | 'ObjectCreated:Post'
  | 'ObjectCreated:Copy'
  | 'ObjectCreated:CompleteMultipartUpload';

/** S3's form of a key in an event: encodeURIComponent, spaces as '+', slashes kept. */
export const eventKeyOf = (key: string) => encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/g, '/');

let sequence = 0;

export const objectCreatedRecord = (options: {
  eventName: ObjectCreatedEventName;
  bucket: string;
  key: string;
  size: number;
  eTag: string;
  principal: string;
  requestId: string;
  sourceIp?: string;
  versionId?: string;
  now?: Date;
}): S3EventRecord => ({
  eventVersion: '2.1',
  eventSource: 'aws:s3',
  awsRegion: TWIN_REGION,
  eventTime: (options.now ?? new Date()).toISOString(),
  eventName: options.eventName,
  userIdentity: { principalId: `AWS:${options.principal}` },
  requestParameters: { sourceIPAddress: options.sourceIp ?? '127.0.0.1' },
  responseElements: { 'x-amz-request-id': options.requestId, 'x-amz-id-2': `${options.requestId}/twin` },
  s3: {
    s3SchemaVersion: '1.0',
    configurationId: 'twin',
    bucket: { name: options.bucket, ownerIdentity: { principalId: 'TWIN' }, arn: `arn:aws:s3:::${options.bucket}` },
    object: {
      key: eventKeyOf(options.key),
      size: options.size,
      eTag: options.eTag.replace(/"/g, ''),
      ...(options.versionId ? { versionId: options.versionId } : {}),
      sequencer: (Date.now() * 1000 + (sequence++ % 1000)).toString(16).toUpperCase().padStart(16, '0'),
    },
  },
});
