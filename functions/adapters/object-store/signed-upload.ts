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

/** What tells signed uploads and downloads apart: where the gateway serves them, and how refusals name them. */
interface SignedUrlKind {
  path: string;
  refused: string;
  invalid: string;
  /** How a refusal names the URL. */
  url: string;
}

const urlOf = (kind: SignedUrlKind, baseUrl: string, key: string, query: URLSearchParams): string =>
  `${baseUrl.replace(/\/$/, '')}${kind.path}${key.split('/').map(encodeURIComponent).join('/')}?${query}`;

const keyOf = (kind: SignedUrlKind, path: string): string | UploadRefusal => {
  try {
    return decodeURIComponent(path.slice(kind.path.length));
  } catch {
    return { status: 400, message: kind.invalid, error: 'The path is not valid percent-encoding' };
  }
};

/** The refusal of a URL whose signature is not the one expected for its values, or whose expiry has passed. */
const signatureRefusal = (
  kind: SignedUrlKind,
  request: { query: URLSearchParams; now: number },
  expected: string,
  expires: number,
): UploadRefusal | undefined => {
  const given = Buffer.from(request.query.get('signature') ?? '');
  const wanted = Buffer.from(expected);
  if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
    return { status: 403, message: kind.refused, error: `${kind.url} does not match its signature; ask for a new one` };
  }
  if (request.now / 1000 > expires) {
    return {
      status: 403,
      message: kind.refused,
      error: `${kind.url} expired at ${new Date(expires * 1000).toISOString()}; ask for a new one`,
    };
  }
  return undefined;
};

const UPLOAD: SignedUrlKind = { path: SIGNED_UPLOAD_PATH, refused: 'Upload refused', invalid: 'Invalid upload URL', url: 'The upload URL' };

export const signedUploadUrl = (baseUrl: string, secret: Uint8Array, bounds: SignedUploadBounds): string =>
  urlOf(
    UPLOAD,
    baseUrl,
    bounds.key,
    new URLSearchParams({
      type: bounds.contentType,
      size: String(bounds.size),
      expires: String(bounds.expires),
      ...(bounds.sha256 ? { sha256: bounds.sha256 } : {}),
      signature: signatureOf(secret, bounds),
    }),
  );

/** Where the local gateway serves presigned GETs: the key follows, as for uploads. */
export const SIGNED_DOWNLOAD_PATH = '/_downloads/';

/** S3's names for the answer's header overrides, which the signature covers as S3's does. */
const RESPONSE_OVERRIDES = { contentType: 'response-content-type', contentEncoding: 'response-content-encoding' } as const;

export type DownloadOverrides = Partial<Record<keyof typeof RESPONSE_OVERRIDES, string>>;

const DOWNLOAD: SignedUrlKind = {
  path: SIGNED_DOWNLOAD_PATH,
  refused: 'Download refused',
  invalid: 'Invalid download URL',
  url: 'The URL',
};

const downloadSignatureOf = (secret: Uint8Array, key: string, expires: number, overrides: DownloadOverrides): string =>
  createHmac('sha256', secret)
    .update(['GET', key, String(expires), overrides.contentType ?? '', overrides.contentEncoding ?? ''].join('\n'))
    .digest('base64url');

const overrideEntries = Object.entries(RESPONSE_OVERRIDES) as [keyof DownloadOverrides, string][];

export const signedDownloadUrl = (
  baseUrl: string,
  secret: Uint8Array,
  { key, expires, overrides = {} }: { key: string; expires: number; overrides?: DownloadOverrides },
): string => {
  const query = new URLSearchParams({ expires: String(expires) });
  for (const [name, parameter] of overrideEntries) if (overrides[name]) query.set(parameter, overrides[name]);
  query.set('signature', downloadSignatureOf(secret, key, expires, overrides));
  return urlOf(DOWNLOAD, baseUrl, key, query);
};

/** The key a presigned GET may read, or why not: a tampered URL or one past its expiry (403, as S3 answers). */
export const checkSignedDownload = (
  secret: Uint8Array,
  request: { path: string; query: URLSearchParams; now: number },
): { key: string; overrides: DownloadOverrides } | UploadRefusal => {
  const key = keyOf(DOWNLOAD, request.path);
  if (typeof key !== 'string') return key;
  const expires = Number(request.query.get('expires'));
  const overrides: DownloadOverrides = {};
  for (const [name, parameter] of overrideEntries) {
    const value = request.query.get(parameter);
    if (value) overrides[name] = value;
  }
  return signatureRefusal(DOWNLOAD, request, downloadSignatureOf(secret, key, expires, overrides), expires) ?? { key, overrides };
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
  const key = keyOf(UPLOAD, request.path);
  if (typeof key !== 'string') return key;
  const bounds = {
    key,
    contentType: request.query.get('type') ?? '',
    size: Number(request.query.get('size')),
    expires: Number(request.query.get('expires')),
    ...(request.query.has('sha256') ? { sha256: request.query.get('sha256')! } : {}),
  };
  const refused = signatureRefusal(UPLOAD, request, signatureOf(secret, bounds), bounds.expires);
  if (refused) return refused;
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
