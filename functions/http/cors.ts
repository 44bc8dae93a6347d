/**
 * CORS for interview platforms that call this API from their own web origin. One list of allowed origins
 * (CDK context `corsOrigins` on AWS, `CORS_ORIGINS` locally; none means no CORS) and, here once, what every
 * place that answers a browser allows: the HTTP API's CorsPreflight, the bucket's rule for presigned PUTs
 * and the local gateway, which plays both.
 */
import { CHECKSUM_SHA256_HEADER } from '../core/ports/object-store';
import { type HttpMethod, type RouteDefinition, routes } from '../routes';

/** What a browser may send: the JWT or SigV4 headers, and the body's type. */
export const CORS_ALLOW_HEADERS = ['authorization', 'content-type', 'x-amz-content-sha256', 'x-amz-date', 'x-amz-security-token'];
/** What a presigned PUT of a direct upload carries (functions/adapters/object-store/s3.ts signs these). */
export const CORS_UPLOAD_HEADERS = ['content-type', 'x-amz-tagging', CHECKSUM_SHA256_HEADER];
/** API Gateway's request id, for a client to quote when it reports a failed call. */
export const CORS_EXPOSE_HEADERS = ['apigw-requestid'];
/** S3's answer to a PUT names the object's version by its ETag. */
export const CORS_UPLOAD_EXPOSE_HEADERS = ['etag'];
/** Chromium caches a preflight for at most 2 hours, Firefox 24: an hour spares most repeats either way. */
export const CORS_MAX_AGE_SECONDS = 3600;

/** The methods the route table uses, so a new method cannot be forgotten in the preflight. */
export const corsAllowMethods = (table: readonly RouteDefinition[] = routes): HttpMethod[] =>
  [...new Set(table.map((route) => route.method))].sort();

const isOrigin = (entry: string): boolean => {
  try {
    const url = new URL(entry);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === entry;
  } catch {
    return false;
  }
};

/**
 * A comma-separated list of origins (`https://app.example.com`, scheme, host and port only, lower case,
 * no trailing slash), or `*` alone for any origin; empty or unset: none. Throws saying what is wrong.
 */
export const parseCorsOrigins = (text: string | undefined): string[] => {
  const origins = (text ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (origins.includes('*') && origins.length > 1) throw new Error('* stands alone, it already allows every origin');
  const bad = origins.filter((entry) => entry !== '*' && !isOrigin(entry));
  if (bad.length > 0) {
    throw new Error(`${bad.join(', ')} is not an origin such as https://app.example.com (scheme, host, port; no path)`);
  }
  return [...new Set(origins)];
};

/** The Access-Control-Allow-Origin value for a request's Origin, or undefined when it is not allowed. */
export const allowedOriginFor = (allowed: readonly string[], origin: string | undefined): string | undefined => {
  if (!origin) return undefined;
  if (allowed.includes('*')) return '*';
  return allowed.includes(origin) ? origin : undefined;
};
