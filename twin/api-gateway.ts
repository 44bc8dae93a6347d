/**
 * The twin's API Gateway: an HTTP API built from the template's AWS::ApiGatewayV2::Route resources, as
 * API Gateway serves it. Routes match by method and path ({name} one segment, {name+} the rest, ANY and
 * $default last); the $default stage's throttling is a token bucket (429); AWS_IAM routes accept only a
 * caller that authorizeCaller lets through (403); requests become payload format 2.0 events for the
 * route's function, and the function's answer is mapped back by the 2.0 rules.
 *
 * With the Api's CorsConfiguration, a preflight (OPTIONS with Origin and Access-Control-Request-Method)
 * is answered 204 by the gateway itself, before routes, throttles and authorizers, and every answer to an
 * allowed Origin gets the configured headers, replacing any CORS header the function set (as AWS documents
 * for HTTP APIs). An Origin not allowed gets no CORS headers, so the browser keeps the answer from the page.
 *
 * Error answers are API Gateway's own: 404 Not Found, 403 Forbidden, 429 Too Many Requests, 413 Request
 * Entity Too Large (body over 10 MB, or over Lambda's 6 MB request limit), 500 Internal Server Error (the
 * function failed, timed out, was throttled or answered more than 6 MB) and 503 Service Unavailable (no
 * answer within the integration timeout, 30 s at most).
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { InvokeResult } from './lambda/runtime';
import type { TwinTemplate } from './template';

/** What authorizeCaller gets for an AWS_IAM route. */
export interface CallerRequest {
  method: string;
  /** The path as received (still percent-encoded), without the query. */
  path: string;
  /** The raw query string, without '?'. */
  query: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** Hex SHA-256 of the body: the payload hash a SigV4 signature for execute-api covers. */
  bodySha256: string;
  action: 'execute-api:Invoke';
  /** arn:aws:execute-api:<region>:<account>:<apiId>/$default/<METHOD>/<path without the leading slash> */
  resource: string;
}

/** The caller's identity, for requestContext.authorizer.iam. */
export interface CallerIdentity {
  accessKey?: string;
  accountId?: string;
  callerId?: string;
  userArn?: string;
  userId?: string;
  principalOrgId?: string | null;
}

export type CallerAnswer = boolean | ({ allowed: true } & CallerIdentity) | { allowed: false };

export interface ApiGatewayOptions {
  template: TwinTemplate;
  /** Synchronous invocation of a function by logical id (the twin Lambda runtime's invoke). */
  invoke(functionLogicalId: string, event: ApiGatewayEventV2): Promise<InvokeResult>;
  /** SigV4 check and policy evaluation for AWS_IAM routes; false or {allowed:false} → 403. */
  authorizeCaller(request: CallerRequest): Promise<CallerAnswer> | CallerAnswer;
  port?: number;
  host?: string;
  /** Which AWS::ApiGatewayV2::Api, when the template has more than one. */
  apiLogicalId?: string;
  region?: string;
  accountId?: string;
  /** Upper bound of every integration's timeout (API Gateway: 30 s); tests shorten it. */
  integrationTimeoutMs?: number;
  /** Receives one line per request in the stage's AccessLogSettings.Format, when the stage has one. */
  accessLog?: (line: string) => void;
}

export interface ApiGateway {
  url: string;
  apiId: string;
  routes: RouteInfo[];
  close(): Promise<void>;
}

export interface RouteInfo {
  routeKey: string;
  authorizationType: string;
  functionLogicalId: string;
}

/** The payload format 2.0 event (the shape of aws-lambda's APIGatewayProxyEventV2, with authorizer.iam). */
export interface ApiGatewayEventV2 {
  version: '2.0';
  routeKey: string;
  rawPath: string;
  rawQueryString: string;
  cookies?: string[];
  headers: Record<string, string>;
  queryStringParameters?: Record<string, string>;
  pathParameters?: Record<string, string>;
  requestContext: {
    accountId: string;
    apiId: string;
    authorizer?: { iam: Record<string, unknown> };
    domainName: string;
    domainPrefix: string;
    http: { method: string; path: string; protocol: string; sourceIp: string; userAgent: string };
    requestId: string;
    routeKey: string;
    stage: string;
    time: string;
    timeEpoch: number;
  };
  body?: string;
  isBase64Encoded: boolean;
}

/** API Gateway's largest request body. */
export const MAX_REQUEST_BODY_BYTES = 10 * 1024 * 1024;
/** HTTP APIs wait at most this long for an integration. */
export const MAX_INTEGRATION_TIMEOUT_MS = 30_000;
/** Bodies of these media types reach the function as text; every other body arrives base64-encoded. */
const TEXT_MEDIA_TYPE = /^(text\/|application\/([\w.+-]+\+)?(json|xml|x-www-form-urlencoded|javascript)\b)/i;

// ---- routes -----------------------------------------------------------------------------------------

type Segment = { kind: 'literal'; value: string } | { kind: 'param'; name: string } | { kind: 'greedy'; name: string };

interface Route extends RouteInfo {
  method: string; // 'ANY' for any
  segments: Segment[] | undefined; // undefined: $default
  timeoutMs: number;
  bucket: TokenBucket | undefined;
}

const parseRouteKey = (routeKey: string): { method: string; segments: Segment[] | undefined } => {
  if (routeKey === '$default') return { method: 'ANY', segments: undefined };
  const [method, path] = routeKey.split(' ') as [string, string];
  const segments = path
    .split('/')
    .slice(1)
    .map((part): Segment => {
      const param = /^\{(.+?)(\+)?\}$/.exec(part);
      if (!param) return { kind: 'literal', value: part };
      return param[2] ? { kind: 'greedy', name: param[1]! } : { kind: 'param', name: param[1]! };
    });
  return { method: method.toUpperCase(), segments };
};

const rank = (route: Route): number[] => {
  // Lower sorts first: literal segments before variables before greedy ones, then a method before ANY.
  if (!route.segments) return [9];
  return [...route.segments.map((s) => (s.kind === 'literal' ? 0 : s.kind === 'param' ? 1 : 2)), route.method === 'ANY' ? 1 : 0];
};
const compareRanks = (a: number[], b: number[]) => {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? -1;
    const y = b[i] ?? -1;
    if (x !== y) return x - y;
  }
  return 0;
};

const safeDecode = (value: string) => {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
};

const matchPath = (segments: Segment[], parts: string[]): Record<string, string> | undefined => {
  const parameters: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    if (segment.kind === 'greedy') {
      const rest = parts.slice(i);
      if (rest.length === 0 || rest.join('/') === '') return undefined;
      parameters[segment.name] = safeDecode(rest.join('/'));
      return parameters;
    }
    const part = parts[i];
    if (part === undefined) return undefined;
    if (segment.kind === 'literal') {
      if (part !== segment.value) return undefined;
    } else {
      if (part === '') return undefined;
      parameters[segment.name] = safeDecode(part);
    }
  }
  return parts.length === segments.length ? parameters : undefined;
};

// ---- throttling ---------------------------------------------------------------------------------------

class TokenBucket {
  private tokens: number;
  private at = Date.now();
  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }
  take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.rate);
    this.at = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

const bucketOf = (settings: any): TokenBucket | undefined => {
  const rate = Number(settings?.ThrottlingRateLimit);
  const burst = Number(settings?.ThrottlingBurstLimit);
  if (!Number.isFinite(rate) && !Number.isFinite(burst)) return undefined;
  return new TokenBucket(Number.isFinite(rate) ? rate : 10_000, Number.isFinite(burst) ? burst : 5_000);
};

// ---- CORS ------------------------------------------------------------------------------------------------

/** The Api's CorsConfiguration (CloudFormation's names). */
interface CorsConfiguration {
  AllowOrigins?: string[];
  AllowMethods?: string[];
  AllowHeaders?: string[];
  ExposeHeaders?: string[];
  MaxAge?: number;
  AllowCredentials?: boolean;
}

/** An allowed origin: exact, '*', or a pattern with '*' for a subdomain (https://*.example.com). */
const originMatcher = (allowed: readonly string[]) => {
  const patterns = allowed.map((entry) =>
    entry === '*' ? /^.+$/ : new RegExp(`^${entry.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]+')}$`, 'i'),
  );
  return (origin: string | undefined) => origin !== undefined && patterns.some((pattern) => pattern.test(origin));
};

const corsOf = (configuration: CorsConfiguration | undefined) => {
  if (!configuration) return undefined;
  const allows = originMatcher(configuration.AllowOrigins ?? []);
  const anyOrigin = (configuration.AllowOrigins ?? []).includes('*') && !configuration.AllowCredentials;
  const allowOriginFor = (origin: string | undefined) => (allows(origin) ? (anyOrigin ? '*' : origin!) : undefined);
  const list = (values: string[] | undefined) => (values?.length ? values.join(',') : undefined);
  const defined = (headers: Record<string, string | undefined>) =>
    Object.fromEntries(Object.entries(headers).filter((entry): entry is [string, string] => entry[1] !== undefined));
  return {
    isPreflight: (request: IncomingMessage) =>
      request.method === 'OPTIONS' &&
      request.headers.origin !== undefined &&
      request.headers['access-control-request-method'] !== undefined,
    preflight(request: IncomingMessage): Reply {
      const origin = allowOriginFor(request.headers.origin);
      const headers = origin
        ? defined({
            'access-control-allow-origin': origin,
            'access-control-allow-methods': list(configuration.AllowMethods),
            'access-control-allow-headers': list(configuration.AllowHeaders),
            'access-control-max-age': configuration.MaxAge === undefined ? undefined : String(configuration.MaxAge),
            'access-control-allow-credentials': configuration.AllowCredentials ? 'true' : undefined,
          })
        : {};
      return { statusCode: 204, headers, cookies: [], body: Buffer.alloc(0) };
    },
    decorate(request: IncomingMessage, reply: Reply): Reply {
      const headers = Object.fromEntries(Object.entries(reply.headers).filter(([name]) => !name.startsWith('access-control-')));
      const origin = allowOriginFor(request.headers.origin);
      if (origin) {
        Object.assign(
          headers,
          defined({
            'access-control-allow-origin': origin,
            'access-control-expose-headers': list(configuration.ExposeHeaders),
            'access-control-allow-credentials': configuration.AllowCredentials ? 'true' : undefined,
          }),
        );
      }
      return { ...reply, headers };
    },
  };
};

// ---- the template ---------------------------------------------------------------------------------------

const functionArnIn = (uri: string) => /(arn:[^:]+:lambda:[^:]+:\d+:function:[^/]+?)(\/invocations)?$/.exec(uri)?.[1] ?? uri;

const routesOf = (template: TwinTemplate, apiId: string, integrationTimeoutMs: number) => {
  const stageId = template
    .ofType('AWS::ApiGatewayV2::Stage')
    .find((id) => template.resources[id]!.Properties.ApiId === apiId && template.resources[id]!.Properties.StageName === '$default');
  const stage = stageId ? template.resources[stageId]!.Properties : undefined;
  const stageBucket = bucketOf(stage?.DefaultRouteSettings);
  const routes: Route[] = [];
  for (const id of template.ofType('AWS::ApiGatewayV2::Route')) {
    const properties = template.resources[id]!.Properties;
    if (properties.ApiId !== apiId) continue;
    const target = String(properties.Target ?? '');
    const integrationId = template.logicalIdOf(target.replace(/^integrations\//, ''));
    const integration = integrationId ? template.resources[integrationId] : undefined;
    if (!integration || integration.Type !== 'AWS::ApiGatewayV2::Integration')
      throw new Error(`route ${properties.RouteKey}: no integration ${target}`);
    const ip = integration.Properties;
    if (ip.IntegrationType !== 'AWS_PROXY' || String(ip.PayloadFormatVersion ?? '1.0') !== '2.0') {
      throw new Error(
        `route ${properties.RouteKey}: only AWS_PROXY integrations with payload format 2.0 are served (got ${ip.IntegrationType} ${ip.PayloadFormatVersion})`,
      );
    }
    const functionLogicalId = template.logicalIdOf(functionArnIn(String(ip.IntegrationUri)));
    if (!functionLogicalId)
      throw new Error(`route ${properties.RouteKey}: integration ${ip.IntegrationUri} names no function of the template`);
    const routeKey = String(properties.RouteKey);
    const routeSettings = stage?.RouteSettings?.[routeKey];
    routes.push({
      routeKey,
      authorizationType: String(properties.AuthorizationType ?? 'NONE'),
      functionLogicalId,
      ...parseRouteKey(routeKey),
      timeoutMs: Math.min(Number(ip.TimeoutInMillis ?? MAX_INTEGRATION_TIMEOUT_MS), integrationTimeoutMs),
      bucket: routeSettings ? bucketOf(routeSettings) : undefined,
    });
  }
  routes.sort((a, b) => compareRanks(rank(a), rank(b)));
  return { routes, stageBucket, accessLogFormat: stage?.AccessLogSettings?.Format as string | undefined };
};

// ---- events and answers ---------------------------------------------------------------------------------

const joinedHeaders = (request: IncomingMessage): Record<string, string> => {
  const joined = new Map<string, string>();
  const raw = request.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (name === 'cookie') continue;
    const earlier = joined.get(name);
    joined.set(name, earlier === undefined ? raw[i + 1]! : `${earlier},${raw[i + 1]}`);
  }
  return Object.fromEntries(joined);
};

const queryParameters = (rawQueryString: string): Record<string, string> => {
  const joined = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(rawQueryString)) {
    const earlier = joined.get(name);
    joined.set(name, earlier === undefined ? value : `${earlier},${value}`);
  }
  return Object.fromEntries(joined);
};

const traceId = () => `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomUUID().replace(/-/g, '').slice(0, 24)}`;

interface Reply {
  statusCode: number;
  headers: Record<string, string>;
  cookies: string[];
  body: Buffer;
}

const message = (statusCode: number, text: string): Reply => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  cookies: [],
  body: Buffer.from(JSON.stringify({ message: text })),
});

/** The 2.0 response rules: an object with statusCode is a response; anything else is a 200 JSON body. */
export const mapLambdaResult = (result: unknown): Reply => {
  if (result !== null && typeof result === 'object' && !Array.isArray(result) && 'statusCode' in result) {
    const r = result as {
      statusCode: unknown;
      headers?: Record<string, unknown>;
      cookies?: unknown[];
      body?: unknown;
      isBase64Encoded?: boolean;
    };
    const statusCode = Number(r.statusCode);
    if (!Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) return message(500, 'Internal Server Error');
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(r.headers ?? {})) headers[name.toLowerCase()] = String(value);
    const text = r.body === undefined || r.body === null ? '' : typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
    return {
      statusCode,
      headers,
      cookies: (r.cookies ?? []).map(String),
      body: r.isBase64Encoded ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8'),
    };
  }
  // A string is the body as it is; other values are their JSON text.
  const body = typeof result === 'string' ? result : JSON.stringify(result);
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, cookies: [], body: Buffer.from(body ?? 'null') };
};

const readBody = (request: IncomingMessage): Promise<Buffer | 'too-large'> =>
  new Promise((resolve, reject) => {
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > MAX_REQUEST_BODY_BYTES) {
      request.resume();
      return resolve('too-large');
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    request.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > MAX_REQUEST_BODY_BYTES) {
        over = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(over ? 'too-large' : Buffer.concat(chunks)));
    request.on('error', reject);
  });

interface Seen {
  at: Date;
  routeKey?: string;
  caller?: string;
  user?: string;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** $context.requestTime: 28/Nov/2026:23:53:26 +0000 */
const clfTime = (at: Date) =>
  `${String(at.getUTCDate()).padStart(2, '0')}/${MONTHS[at.getUTCMonth()]}/${at.getUTCFullYear()}:${at.toISOString().slice(11, 19)} +0000`;

/** The stage's access log format with the $context variables the twin knows filled in; others are '-'. */
const accessLogLine = (format: string, request: IncomingMessage, requestId: string, seen: Seen, reply: Reply) => {
  const url = request.url ?? '/';
  const values: Record<string, string | undefined> = {
    'identity.sourceIp': (request.socket.remoteAddress ?? '').replace(/^::ffff:/, ''),
    'identity.caller': seen.caller,
    'identity.user': seen.user,
    'identity.userAgent': request.headers['user-agent'],
    requestTime: clfTime(seen.at),
    requestTimeEpoch: String(seen.at.getTime()),
    httpMethod: request.method,
    resourcePath: seen.routeKey?.split(' ')[1],
    routeKey: seen.routeKey,
    path: url.split('?')[0],
    protocol: `HTTP/${request.httpVersion}`,
    status: String(reply.statusCode),
    responseLength: String(reply.body.length),
    requestId,
    stage: '$default',
  };
  return format.replace(/\$context\.([A-Za-z.]+)/g, (_match, name: string) => values[name] || '-');
};

export const startApiGateway = async (options: ApiGatewayOptions): Promise<ApiGateway> => {
  const { template } = options;
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '000000000000';
  const apis = template.ofType('AWS::ApiGatewayV2::Api');
  const apiLogicalId = options.apiLogicalId ?? (apis.length === 1 ? apis[0] : undefined);
  if (!apiLogicalId) throw new Error(`expected one AWS::ApiGatewayV2::Api (or apiLogicalId), found ${apis.join(', ') || 'none'}`);
  const apiId = template.physicalId(apiLogicalId);
  const { routes, stageBucket, accessLogFormat } = routesOf(template, apiId, options.integrationTimeoutMs ?? MAX_INTEGRATION_TIMEOUT_MS);
  const cors = corsOf(template.resources[apiLogicalId]!.Properties.CorsConfiguration as CorsConfiguration | undefined);

  const findRoute = (method: string, rawPath: string) => {
    const parts = rawPath.split('/').slice(1);
    for (const route of routes) {
      if (route.method !== 'ANY' && route.method !== method) continue;
      if (!route.segments) return { route, pathParameters: {} as Record<string, string> };
      const pathParameters = matchPath(route.segments, parts);
      if (pathParameters) return { route, pathParameters };
    }
    return undefined;
  };

  const handle = async (request: IncomingMessage, requestId: string, seen: Seen): Promise<Reply> => {
    const method = (request.method ?? 'GET').toUpperCase();
    const url = request.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    const rawQueryString = q < 0 ? '' : url.slice(q + 1);

    if (cors?.isPreflight(request)) {
      request.resume();
      return cors.preflight(request);
    }
    if (stageBucket && !stageBucket.take()) {
      request.resume();
      return message(429, 'Too Many Requests');
    }
    const found = findRoute(method, rawPath);
    if (!found) {
      request.resume();
      return message(404, 'Not Found');
    }
    const { route, pathParameters } = found;
    seen.routeKey = route.routeKey;
    if (route.bucket && !route.bucket.take()) {
      request.resume();
      return message(429, 'Too Many Requests');
    }
    const body = await readBody(request);
    if (body === 'too-large') return message(413, 'Request Entity Too Large');

    let iam: Record<string, unknown> | undefined;
    if (route.authorizationType === 'AWS_IAM') {
      const authorization = request.headers.authorization;
      const signedByQuery = /[?&]X-Amz-Signature=/i.test(rawQueryString);
      if (!authorization && !signedByQuery) return message(403, 'Forbidden');
      const resourcePath = rawPath.replace(/^\//, '');
      const answer = await options.authorizeCaller({
        method,
        path: rawPath,
        query: rawQueryString,
        headers: request.headers,
        body,
        bodySha256: createHash('sha256').update(body).digest('hex'),
        action: 'execute-api:Invoke',
        resource: `arn:aws:execute-api:${region}:${accountId}:${apiId}/$default/${method}/${resourcePath}`,
      });
      const allowed = typeof answer === 'boolean' ? answer : answer.allowed;
      if (!allowed) return message(403, 'Forbidden');
      const identity: CallerIdentity = typeof answer === 'object' && answer.allowed ? answer : {};
      seen.caller = identity.callerId ?? identity.accessKey;
      seen.user = identity.userArn;
      const accessKey = identity.accessKey ?? /Credential=([^/]+)\//.exec(String(authorization ?? decodeURIComponent(rawQueryString)))?.[1];
      iam = {
        accessKey,
        accountId: identity.accountId ?? accountId,
        callerId: identity.callerId,
        cognitoIdentity: null,
        principalOrgId: identity.principalOrgId ?? null,
        userArn: identity.userArn,
        userId: identity.userId,
      };
    }

    const headers = joinedHeaders(request);
    const sourceIp = (request.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
    // What API Gateway adds on its way to the integration.
    headers['x-forwarded-for'] = headers['x-forwarded-for'] ? `${headers['x-forwarded-for']}, ${sourceIp}` : sourceIp;
    headers['x-forwarded-port'] = String(request.socket.localPort ?? '');
    headers['x-forwarded-proto'] = 'http';
    headers['x-amzn-trace-id'] = traceId();
    if (body.length > 0) headers['content-length'] = String(body.length);
    const host = headers.host ?? `${apiId}.execute-api.${region}.amazonaws.com`;
    const now = Date.now();
    const event: ApiGatewayEventV2 = {
      version: '2.0',
      routeKey: route.routeKey,
      rawPath,
      rawQueryString,
      headers,
      requestContext: {
        accountId,
        apiId,
        ...(iam ? { authorizer: { iam } } : {}),
        domainName: host,
        domainPrefix: host.split('.')[0]!,
        http: {
          method,
          path: rawPath,
          protocol: `HTTP/${request.httpVersion}`,
          sourceIp,
          userAgent: headers['user-agent'] ?? '',
        },
        requestId,
        routeKey: route.routeKey,
        stage: '$default',
        time: new Date(now).toISOString(),
        timeEpoch: now,
      },
      isBase64Encoded: false,
    };
    const cookies = request.headers.cookie?.split(/;\s*/).filter(Boolean);
    if (cookies?.length) event.cookies = cookies;
    if (rawQueryString) event.queryStringParameters = queryParameters(rawQueryString);
    if (Object.keys(pathParameters).length) event.pathParameters = pathParameters;
    if (body.length > 0) {
      const isText = TEXT_MEDIA_TYPE.test(headers['content-type'] ?? '');
      event.body = isText ? body.toString('utf8') : body.toString('base64');
      event.isBase64Encoded = !isText;
    }
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), route.timeoutMs);
    });
    const outcome = await Promise.race([options.invoke(route.functionLogicalId, event), timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') return message(503, 'Service Unavailable');
    if (!outcome.ok) {
      // Lambda refused the request as too large: API Gateway passes the 413 on. Everything else the
      // function did wrong (an error, a timeout, a throttle, an answer over 6 MB) is a 500.
      if (outcome.tooLarge) return message(413, 'Request Entity Too Large');
      return message(500, 'Internal Server Error');
    }
    return mapLambdaResult(outcome.result);
  };

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const requestId = `${randomUUID().replace(/-/g, '').slice(0, 14)}=`;
    const seen: Seen = { at: new Date() };
    handle(request, requestId, seen)
      .catch((error: unknown) => {
        process.stderr.write(`[api-gateway] ${error instanceof Error ? error.stack : String(error)}\n`);
        return message(500, 'Internal Server Error');
      })
      .then((answer) => {
        const reply = cors && !cors.isPreflight(request) ? cors.decorate(request, answer) : answer;
        if (response.headersSent) return;
        const headers: Record<string, string | string[]> = {
          ...reply.headers,
          'apigw-requestid': requestId,
          'content-length': String(reply.body.length),
        };
        if (reply.cookies.length) headers['set-cookie'] = reply.cookies;
        response.writeHead(reply.statusCode, headers);
        response.end(reply.body);
        if (options.accessLog && accessLogFormat) options.accessLog(accessLogLine(accessLogFormat, request, requestId, seen, reply));
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${address.port}`,
    apiId,
    routes: routes.map(({ routeKey, authorizationType, functionLogicalId }) => ({ routeKey, authorizationType, functionLogicalId })),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
};
