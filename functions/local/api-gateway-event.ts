/**
 * Translation between node:http and API Gateway HTTP API (payload format 2.0), so a local request runs
 * exactly the code path a Lambda behind API Gateway runs.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';

/** API Gateway passes these bodies as text; every other body arrives base64-encoded. */
const TEXT_MEDIA_TYPE = /^(text\/|application\/([\w.+-]+\+)?(json|xml|x-www-form-urlencoded|javascript)\b)/i;

export interface MatchedRequest {
  request: IncomingMessage;
  body: Buffer;
  routeKey: string;
  rawPath: string;
  rawQueryString: string;
  pathParameters: Record<string, string>;
}

const joinHeaders = (request: IncomingMessage): Record<string, string> => {
  const headers: Record<string, string> = {};
  const incoming = request.headers;
  // Own names only; node:http itself never stores a header named __proto__.
  for (const name of Object.keys(incoming)) {
    const value = incoming[name];
    if (value === undefined || name === 'cookie') continue;
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  return headers;
};

// Built in a Map first: names come from the client, and assigning `__proto__` or reading `constructor`
// on a plain object reaches Object.prototype instead of the request's own field.
const queryParameters = (rawQueryString: string): Record<string, string> => {
  const joined = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(rawQueryString)) {
    const earlier = joined.get(name);
    joined.set(name, earlier === undefined ? value : `${earlier},${value}`);
  }
  return Object.fromEntries(joined);
};

export const toApiGatewayEvent = (matched: MatchedRequest): APIGatewayProxyEventV2 => {
  const { request, body } = matched;
  const headers = joinHeaders(request);
  const host = headers.host ?? 'localhost';
  const now = Date.now();
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: matched.routeKey,
    rawPath: matched.rawPath,
    rawQueryString: matched.rawQueryString,
    headers,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: host,
      domainPrefix: host.split('.')[0]!,
      http: {
        method: request.method ?? 'GET',
        path: matched.rawPath,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: matched.routeKey,
      stage: '$default',
      time: new Date(now).toISOString(),
      timeEpoch: now,
    },
    isBase64Encoded: false,
  };
  // API Gateway leaves out what the request does not have, rather than sending empty values.
  const cookies = request.headers.cookie?.split(/;\s*/).filter(Boolean);
  if (cookies?.length) event.cookies = cookies;
  if (matched.rawQueryString) event.queryStringParameters = queryParameters(matched.rawQueryString);
  if (Object.keys(matched.pathParameters).length > 0) event.pathParameters = matched.pathParameters;
  if (body.length > 0) {
    const isText = TEXT_MEDIA_TYPE.test(headers['content-type'] ?? '');
    event.body = isText ? body.toString('utf8') : body.toString('base64');
    event.isBase64Encoded = !isText;
  }
  return event;
};

export interface HttpReply {
  statusCode: number;
  headers: Record<string, string>;
  /** Text bodies stay strings: node:http then sends headers and body in one write. */
  body: string | Buffer;
}

/** What API Gateway sends back for a handler's result, including its shorthand for plain results. */
export const fromApiGatewayResult = (result: APIGatewayProxyResultV2): HttpReply => {
  if (typeof result === 'string' || result === null || result === undefined || !('statusCode' in result)) {
    return {
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      body: typeof result === 'string' ? result : JSON.stringify(result),
    };
  }
  const headers: Record<string, string> = {};
  for (const name in result.headers) headers[name] = String(result.headers[name]);
  const body = result.body === undefined ? '' : result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body;
  return { statusCode: result.statusCode ?? 200, headers, body };
};
