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
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined || name === 'cookie') continue;
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  return headers;
};

const queryParameters = (rawQueryString: string): Record<string, string> | undefined => {
  if (!rawQueryString) return undefined;
  const joined: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(rawQueryString)) {
    joined[name] = name in joined ? `${joined[name]},${value}` : value;
  }
  return joined;
};

export const toApiGatewayEvent = (matched: MatchedRequest): APIGatewayProxyEventV2 => {
  const { request, body } = matched;
  const headers = joinHeaders(request);
  const isText = TEXT_MEDIA_TYPE.test(headers['content-type'] ?? '');
  const now = new Date();
  const cookies = request.headers.cookie?.split(/;\s*/).filter(Boolean);
  return {
    version: '2.0',
    routeKey: matched.routeKey,
    rawPath: matched.rawPath,
    rawQueryString: matched.rawQueryString,
    ...(cookies?.length ? { cookies } : {}),
    headers,
    ...(matched.rawQueryString ? { queryStringParameters: queryParameters(matched.rawQueryString) } : {}),
    ...(Object.keys(matched.pathParameters).length ? { pathParameters: matched.pathParameters } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: (headers.host ?? 'localhost').split('.')[0]!,
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
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    ...(body.length > 0 ? { body: isText ? body.toString('utf8') : body.toString('base64') } : {}),
    isBase64Encoded: body.length > 0 && !isText,
  };
};

export interface HttpReply {
  statusCode: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** What API Gateway sends back for a handler's result, including its shorthand for plain results. */
export const fromApiGatewayResult = (result: APIGatewayProxyResultV2): HttpReply => {
  if (typeof result === 'string' || result === null || result === undefined || !('statusCode' in result)) {
    return {
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      body: Buffer.from(typeof result === 'string' ? result : JSON.stringify(result)),
    };
  }
  const headers = Object.fromEntries(Object.entries(result.headers ?? {}).map(([name, value]) => [name, String(value)]));
  const body = result.body === undefined ? Buffer.alloc(0) : Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8');
  return { statusCode: result.statusCode ?? 200, headers, body };
};
