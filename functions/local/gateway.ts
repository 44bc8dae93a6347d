/**
 * The local stand-in for API Gateway: matches a request against the route table, turns it into an
 * API Gateway v2 event, invokes the route's Lambda handler and writes its result back, together with
 * the other replies of the same event-loop turn (end-of-turn-queue.ts says why).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { errorResponse } from '../http/envelope';
import { logger } from '../logger';
import { routeId, timeoutSecondsOf, type RouteDefinition } from '../routes';
import { fromApiGatewayResult, toApiGatewayEvent, type HttpReply } from './api-gateway-event';
import { loadHandler } from '../handler-modules';
import { endOfTurnQueue } from './end-of-turn-queue';
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
  /** The handler once its module has loaded, so later requests call it without waiting on the import. */
  loaded?: (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyResultV2>;
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

const firstSegmentOf = (path: string) => {
  const end = path.indexOf('/', 1);
  return end === -1 ? path.slice(1) : path.slice(1, end);
};

/** Routes grouped by their literal first segment, so a request is matched against its few candidates only. */
const routeIndex = (routes: readonly RouteDefinition[]) => {
  const bySegment = new Map<string, CompiledRoute[]>();
  const anySegment: CompiledRoute[] = [];
  for (const compiled of routes.map(compile)) {
    const segment = firstSegmentOf(compiled.route.path);
    if (/^\{\w+\}$/.test(segment)) anySegment.push(compiled);
    else bySegment.set(segment, [...(bySegment.get(segment) ?? []), compiled]);
  }
  return (rawPath: string): CompiledRoute[] => {
    const literal = bySegment.get(firstSegmentOf(rawPath)) ?? [];
    return anySegment.length > 0 ? [...literal, ...anySegment] : literal;
  };
};

const reply = (response: ServerResponse, { statusCode, headers, body }: HttpReply) => {
  headers['content-length'] = String(typeof body === 'string' ? Buffer.byteLength(body) : body.length);
  response.writeHead(statusCode, headers);
  response.end(body);
};

const NO_BODY = Buffer.alloc(0);

/** Without Content-Length or Transfer-Encoding a request has no body (RFC 9112, section 6.3): nothing to wait for. */
const hasBody = ({ headers }: IncomingMessage) =>
  headers['transfer-encoding'] !== undefined || (headers['content-length'] !== undefined && headers['content-length'] !== '0');

/**
 * Path and query of the request target. Targets of plain characters only are split as they are; anything
 * else (dot segments, percent-encoding, other characters) goes through WHATWG URL parsing, which
 * normalizes it.
 */
const PLAIN_TARGET = /^(\/[\w\-/]*)(?:\?([\w\-=&+]*))?$/;
const targetOf = (url: string): { rawPath: string; rawQueryString: string } => {
  const plain = PLAIN_TARGET.exec(url);
  if (plain) return { rawPath: plain[1]!, rawQueryString: plain[2] ?? '' };
  const parsed = new URL(url, 'http://localhost');
  return { rawPath: parsed.pathname, rawQueryString: parsed.search.slice(1) };
};

const envelopeReply = (statusCode: number, message: string, error: string): HttpReply => fromApiGatewayResult(errorResponse(statusCode, message, error));

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

export const startGateway = async (routes: readonly RouteDefinition[], port: number, host: string): Promise<Gateway> => {
  const candidatesFor = routeIndex(routes);

  const dispatch = async (request: IncomingMessage): Promise<HttpReply> => {
    const { rawPath, rawQueryString } = targetOf(request.url ?? '/');
    // Read the body before any refusal, as API Gateway does: answering first would reset the connection
    // of a client still sending.
    const body = hasBody(request) ? await readBody(request) : NO_BODY;
    if (body === null) return envelopeReply(413, 'Request too large', `Requests are limited to ${MAX_REQUEST_BYTES} bytes`);
    const candidates = candidatesFor(rawPath).filter(({ pattern }) => pattern.test(rawPath));
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
    match.loaded ??= await loadHandler<APIGatewayProxyEventV2, APIGatewayProxyResultV2>(match.route.handler);
    return fromApiGatewayResult(await match.loaded(event, localLambdaContext(match.functionName, match.timeoutMs)));
  };

  const queueReply = endOfTurnQueue<[ServerResponse, HttpReply]>(
    ([response, result]) => reply(response, result),
    ([response], error) => {
      logger.error('Gateway failed to write a reply', { error });
      if (response.headersSent) response.destroy();
      else reply(response, internalError());
    },
  );

  const server = createServer((request, response) => {
    dispatch(request)
      .catch((error: unknown) => {
        logger.error('Gateway failed to dispatch', { error });
        return internalError();
      })
      .then((result) => queueReply([response, result]));
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
