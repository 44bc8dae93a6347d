/**
 * The directory store's stand-in for S3 presigned PUT URLs: an HMAC-SHA256, under a secret kept in the
 * data directory, over method, key, content type, exact size and expiry. The URL carries those values so
 * a refusal can say which bound was broken; the signature makes any change to them a tampered URL.
 * Presigned GETs are signed the same way over method, key and expiry (the method keeps one from being
 * used as the other).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Where the local gateway serves signed uploads: the key follows, one path segment per key segment. */
export const SIGNED_UPLOAD_PATH = '/_uploads/';

export interface SignedUploadBounds {
  key: string;
  contentType: string;
  size: number;
  /** Unix seconds: requests after this are refused. */
  expires: number;
  /** The body's SHA-256, base64, when the URL was issued for known bytes: sent as x-amz-checksum-sha256. */
  sha256?: string;
}

const signatureOf = (secret: Uint8Array, { key, contentType, size, expires, sha256 }: SignedUploadBounds): string =>
  createHmac('sha256', secret)
    .update(['PUT', key, contentType, String(size), String(expires), ...(sha256 ? [sha256] : [])].join('\n'))
    .digest('base64url');

export const signedUploadUrl = (baseUrl: string, secret: Uint8Array, bounds: SignedUploadBounds): string => {
  const path = bounds.key.split('/').map(encodeURIComponent).join('/');
  const query = new URLSearchParams({
    type: bounds.contentType,
    size: String(bounds.size),
    expires: String(bounds.expires),
    ...(bounds.sha256 ? { sha256: bounds.sha256 } : {}),
    signature: signatureOf(secret, bounds),
  });
  return `${baseUrl.replace(/\/$/, '')}${SIGNED_UPLOAD_PATH}${path}?${query}`;
};

/** Where the local gateway serves presigned GETs: the key follows, as for uploads. */
export const SIGNED_DOWNLOAD_PATH = '/_downloads/';

/** S3's names for the answer's header overrides, which the signature covers as S3's does. */
const RESPONSE_OVERRIDES = { contentType: 'response-content-type', contentEncoding: 'response-content-encoding' } as const;

export interface DownloadOverrides {
  contentType?: string;
  contentEncoding?: string;
}

const downloadSignatureOf = (secret: Uint8Array, key: string, expires: number, overrides: DownloadOverrides): string =>
  createHmac('sha256', secret)
    .update(['GET', key, String(expires), overrides.contentType ?? '', overrides.contentEncoding ?? ''].join('\n'))
    .digest('base64url');

export const signedDownloadUrl = (
  baseUrl: string,
  secret: Uint8Array,
  { key, expires, overrides = {} }: { key: string; expires: number; overrides?: DownloadOverrides },
): string => {
  const path = key.split('/').map(encodeURIComponent).join('/');
  const query = new URLSearchParams({
    expires: String(expires),
    ...(overrides.contentType ? { [RESPONSE_OVERRIDES.contentType]: overrides.contentType } : {}),
    ...(overrides.contentEncoding ? { [RESPONSE_OVERRIDES.contentEncoding]: overrides.contentEncoding } : {}),
    signature: downloadSignatureOf(secret, key, expires, overrides),
  });
  return `${baseUrl.replace(/\/$/, '')}${SIGNED_DOWNLOAD_PATH}${path}?${query}`;
};

/** The key a presigned GET may read, or why not: a tampered URL or one past its expiry (403, as S3 answers). */
export const checkSignedDownload = (
  secret: Uint8Array,
  request: { path: string; query: URLSearchParams; now: number },
): { key: string; overrides: DownloadOverrides } | UploadRefusal => {
  let key: string;
  try {
    key = decodeURIComponent(request.path.slice(SIGNED_DOWNLOAD_PATH.length));
  } catch {
    return { status: 400, message: 'Invalid download URL', error: 'The path is not valid percent-encoding' };
  }
  const expires = Number(request.query.get('expires'));
  const given = Buffer.from(request.query.get('signature') ?? '');
  const overrides: DownloadOverrides = {
    ...(request.query.get(RESPONSE_OVERRIDES.contentType) ? { contentType: request.query.get(RESPONSE_OVERRIDES.contentType)! } : {}),
    ...(request.query.get(RESPONSE_OVERRIDES.contentEncoding)
      ? { contentEncoding: request.query.get(RESPONSE_OVERRIDES.contentEncoding)! }
      : {}),
  };
  const expected = Buffer.from(downloadSignatureOf(secret, key, expires, overrides));
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { status: 403, message: 'Download refused', error: 'The URL does not match its signature; ask for a new one' };
  if (request.now / 1000 > expires)
    return {
      status: 403,
      message: 'Download refused',
      error: `The URL expired at ${new Date(expires * 1000).toISOString()}; ask for a new one`,
    };
  return { key, overrides };
};

/** Why an upload (or a signed download) is refused: the HTTP status and a line the caller can act on. */
export interface UploadRefusal {
  status: 400 | 403 | 404 | 411;
  message: string;
  error: string;
}

/**
 * The bounds a signed request may write within, or why it may not: a URL whose values do not match its
 * signature (403), one past its expiry (403), a Content-Type or Content-Length other than signed (400),
 * no Content-Length at all (411, as S3 answers a PUT without one), or an x-amz-checksum-sha256 header
 * missing or other than signed (403, as S3 answers a signed header that differs). The body's digest is
 * checked as it is stored (directory.ts).
 */
export const checkSignedUpload = (
  secret: Uint8Array,
  request: {
    path: string;
    query: URLSearchParams;
    contentType: string | undefined;
    contentLength: string | undefined;
    checksumSha256: string | undefined;
    now: number;
  },
): SignedUploadBounds | UploadRefusal => {
  let key: string;
  try {
    key = decodeURIComponent(request.path.slice(SIGNED_UPLOAD_PATH.length));
  } catch {
    return { status: 400, message: 'Invalid upload URL', error: 'The path is not valid percent-encoding' };
  }
  const bounds = {
    key,
    contentType: request.query.get('type') ?? '',
    size: Number(request.query.get('size')),
    expires: Number(request.query.get('expires')),
    ...(request.query.has('sha256') ? { sha256: request.query.get('sha256')! } : {}),
  };
  const given = Buffer.from(request.query.get('signature') ?? '');
  const expected = Buffer.from(signatureOf(secret, bounds));
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { status: 403, message: 'Upload refused', error: 'The upload URL does not match its signature; ask for a new one' };
  }
  if (request.now / 1000 > bounds.expires) {
    return {
      status: 403,
      message: 'Upload refused',
      error: `The upload URL expired at ${new Date(bounds.expires * 1000).toISOString()}; ask for a new one`,
    };
  }
  if (bounds.sha256 !== undefined && request.checksumSha256 !== bounds.sha256) {
    return {
      status: 403,
      message: 'Upload refused',
      error: `Send x-amz-checksum-sha256: ${bounds.sha256}, as the upload URL was issued for`,
    };
  }
  if (request.contentType !== bounds.contentType) {
    return {
      status: 400,
      message: 'Upload refused',
      error: `Content-Type must be ${bounds.contentType}, as the upload URL was issued for`,
    };
  }
  if (request.contentLength === undefined) {
    return { status: 411, message: 'Length required', error: `Send Content-Length: ${bounds.size}` };
  }
  if (request.contentLength !== String(bounds.size)) {
    return {
      status: 400,
      message: 'Upload refused',
      error: `Content-Length must be exactly ${bounds.size} bytes, as the upload URL was issued for`,
    };
  }
  return bounds;
};

export const isRefusal = (value: SignedUploadBounds | UploadRefusal): value is UploadRefusal => 'status' in value;
