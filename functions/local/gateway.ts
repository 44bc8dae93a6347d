/**
 * The local stand-in for API Gateway: matches a request against the route table, turns it into an
 * API Gateway v2 event, invokes the route's Lambda handler and writes its result back.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { SIGNED_DOWNLOAD_PATH, SIGNED_UPLOAD_PATH } from '../adapters/object-store/signed-upload';
import { loadHandler } from '../handler-modules';
import { errorResponse } from '../http/envelope';
import { logger } from '../logger';
import { type RouteDefinition, routeId, timeoutSecondsOf } from '../routes';
import { fromApiGatewayResult, type HttpReply, toApiGatewayEvent } from './api-gateway-event';
import { localCors } from './cors';
import { localLambdaContext } from './lambda-context';

/** API Gateway HTTP APIs refuse larger payloads before any Lambda runs. */
export const MAX_REQUEST_BYTES = 10 * 1024 * 1024;

interface CompiledRoute {
  route: RouteDefinition;
  pattern: RegExp;
  names: string[];
  routeKey: string;
  functionName: string;
  /** The function's Lambda timeout, so the handler sees the deadline it has on AWS. */
  timeoutMs: number;
}

const compile = (route: RouteDefinition): CompiledRoute => {
  const names: string[] = [];
  const source = route.path
    .split('/')
    .map((segment) => {
      const param = /^\{(\w+)\}$/.exec(segment);
      if (!param) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(param[1]!);
      return '([^/]+)';
    })
    .join('/');
  return {
    route,
    pattern: new RegExp(`^${source}$`),
    names,
    routeKey: routeId(route),
    functionName: `interview-ops-${route.handler}`,
    timeoutMs: timeoutSecondsOf(route) * 1000,
  };
};

const reply = (response: ServerResponse, { statusCode, headers, body }: HttpReply) => {
  headers['content-length'] = String(typeof body === 'string' ? Buffer.byteLength(body) : body.length);
  response.writeHead(statusCode, headers);
  response.end(body);
};

/** Path and query of the request target, normalized by WHATWG URL parsing (dot segments, percent-encoding). */
const targetOf = (url: string): { rawPath: string; rawQueryString: string } => {
  const parsed = new URL(url, 'http://localhost');
  return { rawPath: parsed.pathname, rawQueryString: parsed.search.slice(1) };
};

const envelopeReply = (statusCode: number, message: string, error: string): HttpReply =>
  fromApiGatewayResult(errorResponse(statusCode, message, error));

const internalError = () => envelopeReply(500, 'Internal server error', 'An unexpected error occurred');

const readBody = (request: IncomingMessage): Promise<Buffer | null> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) {
        chunks.length = 0;
        request.pause();
        resolve(null);
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });

export interface Gateway {
  server: Server;
  url: string;
  close(): Promise<void>;
}

export interface GatewayOptions {
  /** Serves PUTs to signed upload URLs (SIGNED_UPLOAD_PATH), which S3 takes on AWS; the body is not read first. */
  signedUploads?: (request: IncomingMessage, url: URL) => Promise<HttpReply>;
  /** Origins whose pages may call cross-origin (CORS_ORIGINS); none: no CORS, as without the setting on AWS. */
  corsOrigins?: readonly string[];
  /** Serves presigned GETs (SIGNED_DOWNLOAD_PATH), which S3 serves on AWS. */
  signedDownloads?: (request: IncomingMessage, url: URL) => Promise<HttpReply>;
}

export const startGateway = async (
  routes: readonly RouteDefinition[],
  port: number,
  host: string,
  options: GatewayOptions = {},
): Promise<Gateway> => {
  const compiled = routes.map(compile);
  const cors = options.corsOrigins?.length ? localCors(options.corsOrigins, routes) : undefined;

  const dispatch = async (request: IncomingMessage): Promise<HttpReply> => {
    const preflight = cors?.preflight(request);
    if (preflight) return preflight;
    const { rawPath, rawQueryString } = targetOf(request.url ?? '/');
    if (options.signedUploads && rawPath.startsWith(SIGNED_UPLOAD_PATH)) {
      return options.signedUploads(request, new URL(request.url ?? '/', 'http://localhost'));
    }
    if (options.signedDownloads && rawPath.startsWith(SIGNED_DOWNLOAD_PATH)) {
      return options.signedDownloads(request, new URL(request.url ?? '/', 'http://localhost'));
    }
    // Read the body before any refusal, as API Gateway does: answering first would reset the connection
    // of a client still sending.
    const body = await readBody(request);
    if (body === null) return envelopeReply(413, 'Request too large', `Requests are limited to ${MAX_REQUEST_BYTES} bytes`);
    const candidates = compiled.filter(({ pattern }) => pattern.test(rawPath));
    const match = candidates.find(({ route }) => route.method === request.method);
    if (!match) {
      return candidates.length > 0
        ? envelopeReply(405, 'Method not allowed', `${request.method} is not allowed on ${rawPath}`)
        : envelopeReply(404, 'Not found', `No route for ${request.method} ${rawPath}`);
    }
    const values = match.pattern.exec(rawPath)!.slice(1);
    const pathParameters: Record<string, string> = {};
    try {
      match.names.forEach((name, index) => (pathParameters[name] = decodeURIComponent(values[index]!)));
    } catch {
      return envelopeReply(400, 'Invalid request', 'The path is not valid percent-encoding');
    }
    const event = toApiGatewayEvent({ request, body, routeKey: match.routeKey, rawPath, rawQueryString, pathParameters });
    const handler = await loadHandler<APIGatewayProxyEventV2, APIGatewayProxyResultV2>(match.route.handler);
    return fromApiGatewayResult(await handler(event, localLambdaContext(match.functionName, match.timeoutMs)));
  };

  const server = createServer((request, response) => {
    dispatch(request)
      .catch((error: unknown) => {
        logger.error('Gateway failed to dispatch', { error });
        return internalError();
      })
      .then((result) => reply(response, cors ? cors.decorate(request, result) : result))
      .catch((error: unknown) => {
        logger.error('Gateway failed to write a reply', { error });
        if (response.headersSent) response.destroy();
        else reply(response, internalError());
      });
  });
  // Requests node:http cannot parse (bytes outside the URL grammar, oversized headers) never reach
  // dispatch; answer those in the envelope too rather than with Node's bare 400.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable || error.code === 'ECONNRESET') return socket.destroy();
    const [statusCode, reason, message] =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large', 'Request headers too large']
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'Request Timeout', 'Request timeout']
          : [400, 'Bad Request', 'Invalid request'];
    const { headers, body } = envelopeReply(statusCode, message, 'The request is not valid HTTP');
    const head = Object.entries({ ...headers, 'content-length': String(Buffer.byteLength(body)), connection: 'close' })
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    socket.end(`HTTP/1.1 ${statusCode} ${reason}\r\n${head}\r\n${body.toString()}`);
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    server,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
};
