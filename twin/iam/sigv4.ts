/**
 * Verifies an AWS Signature Version 4 request the way AWS does: header form (Authorization) and query
 * form (X-Amz-Signature, presigned URLs). The canonical request is rebuilt from what came over the wire
 * (method, raw path, raw query, the headers named in SignedHeaders, the x-amz-content-sha256 value or the
 * body's hash) and signed again with the key's secret; the signatures must be equal.
 *
 * By hand rather than with @smithy/signature-v4: that library signs, it does not verify. Its sign()
 * chooses the headers and adds x-amz-date/x-amz-security-token itself, and presign() adds its own query
 * parameters, so neither reproduces a received request exactly. The rules below are the library's
 * (escapeUri, header value trimming, path normalization for non-S3 services), and the tests check the
 * result against requests the real AWS SDK signed.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export interface SigV4Request {
  method: string;
  /** Raw path as sent (still percent-encoded), without the query. */
  path: string;
  /** Raw query string without '?'. */
  query: string;
  headers: Record<string, string | string[] | undefined>;
  /** The body, when the request carries no x-amz-content-sha256 (non-S3 services sign the body's hash). */
  body?: Uint8Array | string;
}

export interface SigV4Options {
  /** The signing name the scope must carry: s3, rds-data, transcribe, execute-api. */
  service: string;
  region: string;
  /** The secret (and the session token the key requires, if any) of an access key id; undefined for an unknown key. */
  secretOf(accessKeyId: string): { secretAccessKey: string; sessionToken?: string } | undefined;
  now?: Date;
}

export type SigV4Failure =
  | 'unsigned'
  | 'malformed'
  | 'unknown-key'
  | 'invalid-token'
  | 'signature-mismatch'
  | 'skewed'
  | 'expired'
  | 'wrong-scope'
  | 'content-sha256-mismatch';

export type SigV4Result =
  | { ok: true; accessKeyId: string; form: 'header' | 'query'; payloadHash: string }
  | { ok: false; failure: SigV4Failure; reason: string; accessKeyId?: string };

const ALGORITHM = 'AWS4-HMAC-SHA256';
const MAX_SKEW_MS = 15 * 60 * 1000;
const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

const sha256Hex = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Uint8Array | string, data: string) => createHmac('sha256', key).update(data).digest();

/** RFC 3986 encoding as AWS (and @smithy/util-uri-escape) does it. */
export const escapeUri = (text: string) =>
  encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

const safeDecode = (text: string) => {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
};

/** The query's pairs, decoded, in wire order. */
export const parseQuery = (query: string): [string, string][] =>
  query
    .split('&')
    .filter((part) => part !== '')
    .map((part) => {
      const eq = part.indexOf('=');
      return eq < 0 ? [safeDecode(part), ''] : [safeDecode(part.slice(0, eq)), safeDecode(part.slice(eq + 1))];
    });

const canonicalQuery = (pairs: [string, string][]) =>
  pairs
    .filter(([key]) => key !== 'X-Amz-Signature')
    .map(([key, value]) => [escapeUri(key), escapeUri(value)] as const)
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join('&');

/** S3 signs the path as sent; every other service signs it normalized and encoded once more. */
const canonicalPath = (path: string, service: string) => {
  if (service === 's3') return path || '/';
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const normalized = `${path.startsWith('/') ? '/' : ''}${segments.join('/')}${segments.length > 0 && path.endsWith('/') ? '/' : ''}`;
  return escapeUri(normalized || '/').replace(/%2F/g, '/');
};

const headerValue = (headers: SigV4Request['headers'], name: string): string | undefined => {
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== lower || value === undefined) continue;
    return Array.isArray(value) ? value.join(',') : value;
  }
  return undefined;
};

const trimValue = (value: string) =>
  value
    .replace(/[\r\n]/g, ' ')
    .replace(/[ \t]+/g, ' ')
    .replace(/^ | $/g, '');

/** yyyymmddThhmmssZ → Date, or undefined. */
const parseAmzDate = (text: string | undefined) => {
  const m = text?.match(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/);
  if (!m) return undefined;
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
};

export const signingKey = (secret: string, shortDate: string, region: string, service: string) =>
  hmac(hmac(hmac(hmac(`AWS4${secret}`, shortDate), region), service), 'aws4_request');

export const verifySigV4 = (request: SigV4Request, options: SigV4Options): SigV4Result => {
  const now = options.now ?? new Date();
  const pairs = parseQuery(request.query);
  const queryValue = (name: string) => pairs.find(([key]) => key === name)?.[1];
  const authorization = headerValue(request.headers, 'authorization');
  const form: 'header' | 'query' | undefined =
    authorization !== undefined ? 'header' : queryValue('X-Amz-Signature') !== undefined ? 'query' : undefined;
  if (!form) return { ok: false, failure: 'unsigned', reason: 'the request carries no signature' };

  let algorithm: string | undefined;
  let credential: string | undefined;
  let signedHeadersText: string | undefined;
  let signature: string | undefined;
  let amzDate: string | undefined;
  if (form === 'header') {
    const m = authorization!.match(/^(\S+)\s+(.*)$/);
    algorithm = m?.[1];
    for (const part of (m?.[2] ?? '').split(',')) {
      const eq = part.indexOf('=');
      const key = part.slice(0, eq).trim();
      const value = part.slice(eq + 1).trim();
      if (key === 'Credential') credential = value;
      else if (key === 'SignedHeaders') signedHeadersText = value;
      else if (key === 'Signature') signature = value;
    }
    amzDate = headerValue(request.headers, 'x-amz-date') ?? undefined;
    if (amzDate === undefined) {
      const date = headerValue(request.headers, 'date');
      if (date && !Number.isNaN(Date.parse(date))) amzDate = new Date(date).toISOString().replace(/[-:]|\.\d{3}/g, '');
    }
  } else {
    algorithm = queryValue('X-Amz-Algorithm');
    credential = queryValue('X-Amz-Credential');
    signedHeadersText = queryValue('X-Amz-SignedHeaders');
    signature = queryValue('X-Amz-Signature');
    amzDate = queryValue('X-Amz-Date');
  }
  if (algorithm !== ALGORITHM) return { ok: false, failure: 'malformed', reason: `unsupported algorithm ${algorithm ?? '(none)'}` };
  if (!credential || !signedHeadersText || !signature)
    return { ok: false, failure: 'malformed', reason: 'Credential, SignedHeaders and Signature are all required' };
  const [accessKeyId = '', shortDate, region, service, terminator] = credential.split('/');
  if (!shortDate || !region || !service || terminator !== 'aws4_request') {
    return { ok: false, failure: 'malformed', reason: `malformed credential scope ${credential}`, accessKeyId };
  }
  const signedAt = parseAmzDate(amzDate);
  if (!signedAt) return { ok: false, failure: 'malformed', reason: 'missing or malformed X-Amz-Date', accessKeyId };
  if (amzDate!.slice(0, 8) !== shortDate)
    return { ok: false, failure: 'wrong-scope', reason: `scope date ${shortDate} is not the request date ${amzDate}`, accessKeyId };
  if (region !== options.region)
    return { ok: false, failure: 'wrong-scope', reason: `scope region ${region}, expected ${options.region}`, accessKeyId };
  if (service !== options.service)
    return { ok: false, failure: 'wrong-scope', reason: `scope service ${service}, expected ${options.service}`, accessKeyId };

  if (form === 'query') {
    const expires = Number(queryValue('X-Amz-Expires'));
    if (!Number.isInteger(expires) || expires < 1 || expires > MAX_PRESIGN_SECONDS) {
      return { ok: false, failure: 'malformed', reason: 'X-Amz-Expires must be between 1 and 604800 seconds', accessKeyId };
    }
    if (signedAt.getTime() - now.getTime() > MAX_SKEW_MS)
      return { ok: false, failure: 'skewed', reason: 'request is not valid yet', accessKeyId };
    if (now.getTime() > signedAt.getTime() + expires * 1000)
      return { ok: false, failure: 'expired', reason: 'request has expired', accessKeyId };
  } else if (Math.abs(now.getTime() - signedAt.getTime()) > MAX_SKEW_MS) {
    return {
      ok: false,
      failure: 'skewed',
      reason: `the difference between the request time ${amzDate} and the current time is too large`,
      accessKeyId,
    };
  }

  const key = options.secretOf(accessKeyId);
  if (!key) return { ok: false, failure: 'unknown-key', reason: `unknown access key id ${accessKeyId}`, accessKeyId };
  const token = form === 'query' ? queryValue('X-Amz-Security-Token') : headerValue(request.headers, 'x-amz-security-token');
  if (key.sessionToken !== undefined ? token !== key.sessionToken : token !== undefined) {
    return { ok: false, failure: 'invalid-token', reason: 'the security token included in the request is invalid', accessKeyId };
  }

  const signedHeaders = signedHeadersText.split(';');
  if (!signedHeaders.includes('host') && !signedHeaders.includes(':authority'))
    return { ok: false, failure: 'malformed', reason: 'host (or :authority over HTTP/2) must be a signed header', accessKeyId };
  const canonicalHeaders: string[] = [];
  for (const name of signedHeaders) {
    const value = headerValue(request.headers, name);
    if (value === undefined) return { ok: false, failure: 'signature-mismatch', reason: `signed header ${name} is missing`, accessKeyId };
    canonicalHeaders.push(`${name}:${trimValue(value)}`);
  }

  const declaredHash = headerValue(request.headers, 'x-amz-content-sha256');
  let payloadHash: string;
  if (form === 'query') payloadHash = declaredHash ?? (service === 's3' ? 'UNSIGNED-PAYLOAD' : sha256Hex(request.body ?? ''));
  else if (declaredHash !== undefined) payloadHash = declaredHash;
  else if (request.body !== undefined) payloadHash = sha256Hex(request.body);
  else return { ok: false, failure: 'malformed', reason: 'no x-amz-content-sha256 and no body to hash', accessKeyId };
  if (/^[0-9a-f]{64}$/.test(payloadHash) && request.body !== undefined && sha256Hex(request.body) !== payloadHash) {
    return {
      ok: false,
      failure: 'content-sha256-mismatch',
      reason: "the provided 'x-amz-content-sha256' header does not match what was computed",
      accessKeyId,
    };
  }

  const canonicalRequest = [
    request.method.toUpperCase(),
    canonicalPath(request.path, service),
    canonicalQuery(pairs),
    `${canonicalHeaders.join('\n')}\n`,
    signedHeadersText,
    payloadHash,
  ].join('\n');
  const scope = `${shortDate}/${region}/${service}/aws4_request`;
  const stringToSign = [ALGORITHM, amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const expected = createHmac('sha256', signingKey(key.secretAccessKey, shortDate, region, service))
    .update(stringToSign)
    .digest('hex');
  const given = Buffer.from(signature.toLowerCase());
  if (given.length !== expected.length || !timingSafeEqual(given, Buffer.from(expected))) {
    return {
      ok: false,
      failure: 'signature-mismatch',
      reason: 'the request signature we calculated does not match the signature you provided',
      accessKeyId,
    };
  }
  return { ok: true, accessKeyId, form, payloadHash };
};
