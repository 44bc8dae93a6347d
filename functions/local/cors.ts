/**
 * The local gateway's CORS, as API Gateway does it for the synthesized CorsPreflight (and S3 for the
 * presigned PUT): a preflight is answered here, before any route or handler, and every answer to an
 * allowed Origin carries Access-Control-Allow-Origin. An Origin not allowed gets no CORS headers, so the
 * browser refuses to hand the answer to the page.
 */
import type { IncomingMessage } from 'node:http';
import {
  allowedOriginFor,
  CORS_ALLOW_HEADERS,
  CORS_EXPOSE_HEADERS,
  CORS_MAX_AGE_SECONDS,
  CORS_UPLOAD_EXPOSE_HEADERS,
  CORS_UPLOAD_HEADERS,
  corsAllowMethods,
} from '../http/cors';
import type { RouteDefinition } from '../routes';
import type { HttpReply } from './api-gateway-event';

export interface LocalCors {
  /** The answer to a preflight (OPTIONS with Origin and Access-Control-Request-Method), or undefined for any other request. */
  preflight(request: IncomingMessage): HttpReply | undefined;
  /** The reply with the CORS headers the request's Origin earns, if any. */
  decorate(request: IncomingMessage, reply: HttpReply): HttpReply;
}

export const localCors = (origins: readonly string[], routes: readonly RouteDefinition[]): LocalCors => {
  // The local stack plays API Gateway and S3 on one port: a preflight may be for either.
  const methods = [...new Set([...corsAllowMethods(routes), 'PUT'])].sort().join(',');
  const headers = [...new Set([...CORS_ALLOW_HEADERS, ...CORS_UPLOAD_HEADERS])].join(',');
  const exposed = [...CORS_EXPOSE_HEADERS, ...CORS_UPLOAD_EXPOSE_HEADERS].join(',');
  const originOf = (request: IncomingMessage) => allowedOriginFor(origins, request.headers.origin);
  return {
    preflight(request) {
      if (request.method !== 'OPTIONS' || !request.headers.origin || !request.headers['access-control-request-method']) return undefined;
      request.resume();
      const origin = originOf(request);
      const allowed: Record<string, string> = origin
        ? {
            'access-control-allow-origin': origin,
            'access-control-allow-methods': methods,
            'access-control-allow-headers': headers,
            'access-control-max-age': String(CORS_MAX_AGE_SECONDS),
            vary: 'origin',
          }
        : { vary: 'origin' };
      return { statusCode: 204, headers: allowed, body: '' };
    },
    decorate(request, reply) {
      const origin = originOf(request);
      if (!origin) return reply;
      return {
        ...reply,
        headers: { ...reply.headers, 'access-control-allow-origin': origin, 'access-control-expose-headers': exposed, vary: 'origin' },
      };
    },
  };
};
