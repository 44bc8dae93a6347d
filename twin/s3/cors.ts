/**
 * The bucket's CORS rules as S3 applies them (Amazon S3 API reference, "OPTIONS object"; user guide,
 * "How does Amazon S3 evaluate the CORS configuration"): a preflight is answered without authentication,
 * 200 with the first rule that allows its origin, method and every requested header, else 403; an
 * actual request from an origin a rule allows for its method gets that rule's headers on its answer.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** A CorsRules entry of AWS::S3::Bucket's CorsConfiguration (CloudFormation's names). */
export interface S3CorsRule {
  AllowedMethods: string[];
  AllowedOrigins: string[];
  AllowedHeaders?: string[];
  ExposedHeaders?: string[];
  MaxAge?: number;
}

export type PreflightAnswer =
  | { allowed: true; headers: Record<string, string> }
  | { allowed: false; code: 'CORSResponse'; message: string };

/** S3 allows one '*' in an AllowedOrigin or AllowedHeader, matching any characters; headers match case-insensitively. */
const matcher = (pattern: string, caseless: boolean) =>
  new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, caseless ? 'i' : '');

const allowsOrigin = (rule: S3CorsRule, origin: string) => rule.AllowedOrigins.some((entry) => matcher(entry, false).test(origin));
const allowsHeader = (rule: S3CorsRule, header: string) => (rule.AllowedHeaders ?? []).some((entry) => matcher(entry, true).test(header));

export const bucketCors = (rules: readonly S3CorsRule[] | undefined) => {
  const allowOriginOf = (rule: S3CorsRule, origin: string) => (rule.AllowedOrigins.includes('*') ? '*' : origin);
  const exposed = (rule: S3CorsRule): Record<string, string> =>
    rule.ExposedHeaders?.length ? { 'access-control-expose-headers': rule.ExposedHeaders.join(', ') } : {};
  return {
    isPreflight: (method: string, headers: IncomingHttpHeaders) =>
      method === 'OPTIONS' && headers.origin !== undefined && headers['access-control-request-method'] !== undefined,

    preflight(headers: IncomingHttpHeaders): PreflightAnswer {
      if (!rules?.length) return { allowed: false, code: 'CORSResponse', message: 'CORS is not enabled for this bucket.' };
      const origin = String(headers.origin);
      const method = String(headers['access-control-request-method']).toUpperCase();
      const requested = String(headers['access-control-request-headers'] ?? '')
        .split(',')
        .map((name) => name.trim().toLowerCase())
        .filter(Boolean);
      const rule = rules.find(
        (candidate) =>
          allowsOrigin(candidate, origin) &&
          candidate.AllowedMethods.includes(method) &&
          requested.every((name) => allowsHeader(candidate, name)),
      );
      if (!rule) {
        return {
          allowed: false,
          code: 'CORSResponse',
          message:
            "This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
        };
      }
      return {
        allowed: true,
        headers: {
          'access-control-allow-origin': allowOriginOf(rule, origin),
          'access-control-allow-methods': rule.AllowedMethods.join(', '),
          ...(requested.length ? { 'access-control-allow-headers': requested.join(', ') } : {}),
          ...exposed(rule),
          ...(rule.MaxAge === undefined ? {} : { 'access-control-max-age': String(rule.MaxAge) }),
          vary: 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method',
        },
      };
    },

    /** The headers an actual request's answer carries; none when no rule allows its origin and method. */
    answerHeaders(method: string, headers: IncomingHttpHeaders): Record<string, string> {
      const origin = headers.origin;
      if (!rules?.length || origin === undefined) return {};
      const rule = rules.find((candidate) => allowsOrigin(candidate, origin) && candidate.AllowedMethods.includes(method));
      if (!rule) return {};
      return {
        'access-control-allow-origin': allowOriginOf(rule, origin),
        'access-control-allow-methods': rule.AllowedMethods.join(', '),
        ...exposed(rule),
        vary: 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method',
      };
    },
  };
};
