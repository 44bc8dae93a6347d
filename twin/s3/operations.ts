/**
 * What an S3 request is, in IAM terms: the bucket and key it addresses (path style or virtual-host
 * style), the operation, and the checks IAM makes for it (the action and resource S3's authorization
 * reference lists for each operation, with the s3:prefix/delimiter/max-keys context of listings).
 */
import type { Check } from '../iam/gate';
import { parseQuery } from '../iam/sigv4';

export interface S3Target {
  bucket: string;
  /** Decoded key; '' for bucket-level requests. */
  key: string;
  /** The key as it came on the wire (still percent-encoded), '' for bucket-level. */
  rawKey: string;
  style: 'path' | 'virtual-host';
}

export type S3OperationName =
  | 'HeadBucket'
  | 'ListObjectsV2'
  | 'ListObjects'
  | 'ListMultipartUploads'
  | 'GetBucketLocation'
  | 'DeleteObjects'
  | 'GetObject'
  | 'HeadObject'
  | 'PutObject'
  | 'CopyObject'
  | 'CreateMultipartUpload'
  | 'UploadPart'
  | 'UploadPartCopy'
  | 'CompleteMultipartUpload'
  | 'AbortMultipartUpload'
  | 'ListParts'
  | 'DeleteObject'
  | 'GetObjectTagging'
  | 'PutObjectTagging';

export interface S3Operation {
  name: S3OperationName;
  checks: Check[];
}

const bucketArn = (bucket: string) => `arn:aws:s3:::${bucket}`;
const objectArn = (bucket: string, key: string) => `arn:aws:s3:::${bucket}/${key}`;

const safeDecode = (text: string) => {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
};

/** Virtual-host style when the Host is `<bucket>.localhost[:port]` (or `<bucket>.s3.<anything>`), path style otherwise. */
export const targetOf = (host: string | undefined, rawPath: string): S3Target | undefined => {
  const hostname = (host ?? '').replace(/:\d+$/, '').toLowerCase();
  const virtual = hostname.match(/^(.+)\.localhost$/) ?? hostname.match(/^(.+)\.s3(?:[.-][a-z0-9-]+)*\.amazonaws\.com$/);
  if (virtual) {
    const rawKey = rawPath.replace(/^\//, '');
    return { bucket: virtual[1]!, key: safeDecode(rawKey), rawKey, style: 'virtual-host' };
  }
  const match = rawPath.match(/^\/([^/]+)(?:\/(.*))?$/);
  if (!match) return undefined;
  const rawKey = match[2] ?? '';
  return { bucket: safeDecode(match[1]!), key: safeDecode(rawKey), rawKey, style: 'path' };
};

/** The copy source header (`/bucket/key` or `bucket/key`, URL-encoded, maybe `?versionId=`) as an object ARN. */
const copySourceArn = (header: string) => {
  const [path] = safeDecode(header).split('?versionId=');
  return `arn:aws:s3:::${path!.replace(/^\//, '')}`;
};

/** The operation and its IAM checks, or undefined when the twin does not serve it (answered 501 NotImplemented). */
export const operationOf = (
  method: string,
  target: S3Target,
  rawQuery: string,
  headers: Record<string, string | string[] | undefined>,
): S3Operation | undefined => {
  const query = new Map(parseQuery(rawQuery));
  const has = (name: string) => query.has(name);
  const { bucket, key } = target;
  const m = method.toUpperCase();
  if (key === '') {
    if (m === 'HEAD') return { name: 'HeadBucket', checks: [{ action: 's3:ListBucket', resource: bucketArn(bucket) }] };
    if (m === 'GET') {
      if (has('location')) return { name: 'GetBucketLocation', checks: [{ action: 's3:GetBucketLocation', resource: bucketArn(bucket) }] };
      if (has('uploads'))
        return { name: 'ListMultipartUploads', checks: [{ action: 's3:ListBucketMultipartUploads', resource: bucketArn(bucket) }] };
      const unsupported = [
        'versions',
        'acl',
        'policy',
        'cors',
        'lifecycle',
        'notification',
        'tagging',
        'website',
        'encryption',
        'logging',
        'versioning',
      ];
      if (unsupported.some(has)) return undefined;
      const context: Record<string, string> = {};
      if (has('prefix')) context['s3:prefix'] = query.get('prefix')!;
      if (has('delimiter')) context['s3:delimiter'] = query.get('delimiter')!;
      if (has('max-keys')) context['s3:max-keys'] = query.get('max-keys')!;
      return {
        name: query.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects',
        checks: [{ action: 's3:ListBucket', resource: bucketArn(bucket), context }],
      };
    }
    if (m === 'POST' && has('delete')) return { name: 'DeleteObjects', checks: [] }; // one s3:DeleteObject check per key, made by the proxy
    return undefined;
  }
  const object = objectArn(bucket, key);
  const copySource = headers['x-amz-copy-source'];
  // A write that sets tags (x-amz-tagging) is authorized by s3:PutObjectTagging as well as s3:PutObject.
  const tagging = headers['x-amz-tagging'] === undefined ? [] : [{ action: 's3:PutObjectTagging', resource: object }];
  switch (m) {
    case 'GET':
    case 'HEAD':
      if (has('uploadId')) return { name: 'ListParts', checks: [{ action: 's3:ListMultipartUploadParts', resource: object }] };
      if (m === 'GET' && has('tagging') && !has('versionId'))
        return { name: 'GetObjectTagging', checks: [{ action: 's3:GetObjectTagging', resource: object }] };
      if (['tagging', 'acl', 'attributes', 'legal-hold', 'retention', 'torrent'].some(has)) return undefined;
      return {
        name: m === 'GET' ? 'GetObject' : 'HeadObject',
        checks: [{ action: has('versionId') ? 's3:GetObjectVersion' : 's3:GetObject', resource: object }],
      };
    case 'PUT': {
      if (has('tagging') && !has('versionId'))
        return { name: 'PutObjectTagging', checks: [{ action: 's3:PutObjectTagging', resource: object }] };
      if (['tagging', 'acl', 'legal-hold', 'retention'].some(has)) return undefined;
      const source = typeof copySource === 'string' ? [{ action: 's3:GetObject', resource: copySourceArn(copySource) }] : [];
      if (has('uploadId') && has('partNumber'))
        return { name: source.length ? 'UploadPartCopy' : 'UploadPart', checks: [{ action: 's3:PutObject', resource: object }, ...source] };
      return {
        name: source.length ? 'CopyObject' : 'PutObject',
        checks: [{ action: 's3:PutObject', resource: object }, ...source, ...tagging],
      };
    }
    case 'POST':
      if (has('uploads')) return { name: 'CreateMultipartUpload', checks: [{ action: 's3:PutObject', resource: object }, ...tagging] };
      if (has('uploadId')) return { name: 'CompleteMultipartUpload', checks: [{ action: 's3:PutObject', resource: object }] };
      return undefined;
    case 'DELETE':
      if (has('uploadId')) return { name: 'AbortMultipartUpload', checks: [{ action: 's3:AbortMultipartUpload', resource: object }] };
      return {
        name: 'DeleteObject',
        checks: [{ action: has('versionId') ? 's3:DeleteObjectVersion' : 's3:DeleteObject', resource: object }],
      };
    default:
      return undefined;
  }
};
