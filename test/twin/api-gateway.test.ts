/**
 * The twin's API Gateway over real HTTP, from a hand-written template fragment, in front of hand-written
 * functions run by the twin Lambda runtime in real child processes; IAM routes checked with real SigV4
 * signatures.
 */
import { createHash, createHmac } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiGateway, type CallerRequest, startApiGateway } from '../../twin/api-gateway';
import { createFunctionRuntime, type FunctionRuntime, functionRuntimeOf } from '../../twin/lambda/runtime';
import { loadTemplate, type TwinTemplate, templateFromJson } from '../../twin/template';
import { synthToTemp } from './synth';

type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytesOf = (data: SourceData) =>
  typeof data === 'string'
    ? Buffer.from(data)
    : ArrayBuffer.isView(data)
      ? Buffer.from(data.buffer, data.byteOffset, data.byteLength)
      : Buffer.from(data);

class Sha256 {
  private readonly hash;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytesOf(secret));
  }
  update(data: SourceData) {
    this.hash.update(bytesOf(data));
  }
  async digest() {
    return new Uint8Array(this.hash.digest());
  }
  reset() {}
}

const CREDENTIALS = { accessKeyId: 'AKIATWINTESTCALLER00', secretAccessKey: 'twin-test-secret-key-000000000000000000000' };
const signer = (credentials = CREDENTIALS) =>
  new SignatureV4({ service: 'execute-api', region: 'us-east-1', credentials, sha256: Sha256, uriEscapePath: true });

const fn = () => ({
  Type: 'AWS::Lambda::Function',
  Properties: { Handler: 'index.handler', Runtime: 'nodejs24.x', Code: { ZipFile: 'x' } },
});
const integration = (fnId: string, api = 'Api', extra: Record<string, unknown> = {}) => ({
  Type: 'AWS::ApiGatewayV2::Integration',
  Properties: {
    ApiId: { Ref: api },
    IntegrationType: 'AWS_PROXY',
    IntegrationUri: { 'Fn::GetAtt': [fnId, 'Arn'] },
    PayloadFormatVersion: '2.0',
    ...extra,
  },
});
const route = (routeKey: string, integrationId: string, authorizationType = 'NONE', api = 'Api') => ({
  Type: 'AWS::ApiGatewayV2::Route',
  Properties: {
    ApiId: { Ref: api },
    RouteKey: routeKey,
    AuthorizationType: authorizationType,
    Target: { 'Fn::Join': ['', ['integrations/', { Ref: integrationId }]] },
  },
});

const template = templateFromJson({
  Resources: {
    Api: { Type: 'AWS::ApiGatewayV2::Api', Properties: { Name: 'Api', ProtocolType: 'HTTP' } },
    Stage: {
      Type: 'AWS::ApiGatewayV2::Stage',
      Properties: {
        ApiId: { Ref: 'Api' },
        StageName: '$default',
        AutoDeploy: true,
        DefaultRouteSettings: { ThrottlingBurstLimit: 1000, ThrottlingRateLimit: 1000 },
        AccessLogSettings: {
          DestinationArn: 'arn:aws:logs:us-east-1:000000000000:log-group:access',
          Format:
            '$context.identity.sourceIp $context.identity.caller [$context.requestTime] "$context.httpMethod $context.resourcePath $context.protocol" $context.status $context.responseLength $context.requestId',
        },
      },
    },
    EchoFn: fn(),
    OtherFn: fn(),
    FailFn: fn(),
    SlowFn: fn(),
    EchoIntegration: integration('EchoFn'),
    OtherIntegration: integration('OtherFn'),
    FailIntegration: integration('FailFn'),
    SlowIntegration: integration('SlowFn'),
    ShortIntegration: integration('SlowFn', 'Api', { TimeoutInMillis: 500 }),
    ItemRoute: route('GET /items/{id}', 'EchoIntegration'),
    SpecialRoute: route('GET /items/special', 'OtherIntegration'),
    ProxyRoute: route('ANY /files/{proxy+}', 'EchoIntegration'),
    EchoRoute: route('POST /echo', 'EchoIntegration'),
    AnswerRoute: route('GET /answer', 'EchoIntegration'),
    PrivateRoute: route('GET /private/{id}', 'EchoIntegration', 'AWS_IAM'),
    FailRoute: route('GET /fail', 'FailIntegration'),
    SlowRoute: route('GET /slow', 'SlowIntegration'),
    ShortRoute: route('GET /short', 'ShortIntegration'),
    // A second API with a tight throttle.
    Tight: { Type: 'AWS::ApiGatewayV2::Api', Properties: { Name: 'Tight', ProtocolType: 'HTTP' } },
    TightStage: {
      Type: 'AWS::ApiGatewayV2::Stage',
      Properties: {
        ApiId: { Ref: 'Tight' },
        StageName: '$default',
        DefaultRouteSettings: { ThrottlingBurstLimit: 3, ThrottlingRateLimit: 0.001 },
      },
    },
    TightIntegration: integration('EchoFn', 'Tight'),
    TightRoute: route('GET /ping', 'TightIntegration', 'NONE', 'Tight'),
    // A third API with CORS, as CDK's corsPreflight writes it.
    Cors: {
      Type: 'AWS::ApiGatewayV2::Api',
      Properties: {
        Name: 'Cors',
        ProtocolType: 'HTTP',
        CorsConfiguration: {
          AllowOrigins: ['https://app.example.com', 'https://*.example.org'],
          AllowMethods: ['GET', 'POST'],
          AllowHeaders: ['authorization', 'content-type'],
          ExposeHeaders: ['apigw-requestid'],
          MaxAge: 600,
          AllowCredentials: true,
        },
      },
    },
    CorsStage: { Type: 'AWS::ApiGatewayV2::Stage', Properties: { ApiId: { Ref: 'Cors' }, StageName: '$default' } },
    CorsIntegration: integration('CorsFn', 'Cors'),
    CorsRoute: route('GET /cors', 'CorsIntegration', 'NONE', 'Cors'),
    CorsPrivateRoute: route('POST /cors', 'CorsIntegration', 'AWS_IAM', 'Cors'),
    CorsFn: fn(),
  },
});

const SOURCES: Record<string, { code: string; timeoutSeconds: number }> = {
  EchoFn: {
    timeoutSeconds: 5,
    code: `export const handler = async (event) => {
      const answer = event.queryStringParameters?.answer;
      if (answer === 'string') return 'plain words';
      if (answer === 'number') return 42;
      if (answer === 'object') return { a: 1 };
      if (answer === 'response') return { statusCode: 201, headers: { 'X-Kind': 'binary', 'content-type': 'application/octet-stream' },
        cookies: ['a=1; Path=/', 'b=2'], body: Buffer.from([0, 1, 254, 255]).toString('base64'), isBase64Encoded: true };
      return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ fn: 'echo', event }) };
    };`,
  },
  OtherFn: {
    timeoutSeconds: 5,
    code: `export const handler = async (event) => ({ statusCode: 200, body: JSON.stringify({ fn: 'other', event }) });`,
  },
  // Sets CORS headers of its own, which API Gateway ignores when the API has a CORS configuration.
  CorsFn: {
    timeoutSeconds: 5,
    code: `export const handler = async () => ({ statusCode: 200, headers: { 'access-control-allow-origin': '*', 'access-control-allow-methods': 'TRACE', 'x-own': 'kept' }, body: '{}' });`,
  },
  FailFn: { timeoutSeconds: 5, code: `export const handler = async () => { throw new TypeError('broken'); };` },
  SlowFn: {
    timeoutSeconds: 1,
    code: `export const handler = async (event) => { await new Promise((r) => setTimeout(r, 3000)); return 'late'; };`,
  },
};

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json(): any;
}

const send = (
  url: string,
  options: { method?: string; path: string; headers?: Record<string, string | string[]>; body?: Buffer | string },
) =>
  new Promise<Answer>((resolve, reject) => {
    const request = httpRequest(`${url}${options.path}`, { method: options.method ?? 'GET', headers: options.headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: response.statusCode!, headers: response.headers, body, json: () => JSON.parse(body.toString('utf8')) });
      });
    });
    request.on('error', reject);
    request.end(options.body);
  });

/** Signs like an SDK client would: method, host, path, query, body. */
const signed = async (url: string, method: string, path: string, body = '', credentials = CREDENTIALS) => {
  const { host, hostname, port } = new URL(url);
  const [pathname, search = ''] = path.split('?') as [string, string?];
  const query = Object.fromEntries(new URLSearchParams(search));
  const request = await signer(credentials).sign({
    method,
    protocol: 'http:',
    hostname,
    port: Number(port),
    path: pathname,
    query,
    headers: { host },
    body,
  });
  return request.headers as Record<string, string>;
};

/** The stub of the gate: recomputes the signature with the key the Credential names, as AWS does. */
const calls: CallerRequest[] = [];
const authorizeCaller = async (request: CallerRequest) => {
  calls.push(request);
  const authorization = String(request.headers.authorization ?? '');
  const match = /Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})/.exec(
    authorization,
  );
  if (!match || match[1] !== CREDENTIALS.accessKeyId || match[4] !== 'execute-api') return false;
  const signedHeaders = match[5]!.split(';');
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) headers[name] = String(request.headers[name]);
  const amzDate = String(request.headers['x-amz-date']);
  const signingDate = new Date(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
  );
  const [hostname = '', port] = String(request.headers.host).split(':');
  const again = await signer().sign(
    {
      method: request.method,
      protocol: 'http:',
      hostname,
      port: Number(port),
      path: decodeURIComponent(request.path),
      query: Object.fromEntries(new URLSearchParams(request.query)),
      headers,
      body: request.body,
    },
    { signingDate },
  );
  if (again.headers.authorization !== authorization) return false;
  return { allowed: true as const, accessKey: match[1], userArn: 'arn:aws:iam::000000000000:user/twin-test', userId: 'AIDATWINTEST' };
};

describe('twin API Gateway', () => {
  const accessLines: string[] = [];
  let gateway: ApiGateway;
  let tight: ApiGateway;
  let cors: ApiGateway;
  const runtimes = new Map<string, FunctionRuntime>();
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'twin-api-'));
    for (const [id, { code, timeoutSeconds }] of Object.entries(SOURCES)) {
      const assetDir = join(dir, id);
      await mkdir(assetDir);
      await writeFile(join(assetDir, 'index.mjs'), code);
      runtimes.set(
        id,
        createFunctionRuntime({
          name: id,
          assetDir,
          handler: 'index.handler',
          environment: {},
          timeoutSeconds,
          memoryMb: 128,
          log: () => {},
        }),
      );
    }
    const invoke = (id: string, event: unknown) => runtimes.get(id)!.invoke(event);
    gateway = await startApiGateway({
      template,
      apiLogicalId: 'Api',
      invoke,
      authorizeCaller,
      accessLog: (line) => accessLines.push(line),
    });
    tight = await startApiGateway({ template, apiLogicalId: 'Tight', invoke, authorizeCaller });
    cors = await startApiGateway({ template, apiLogicalId: 'Cors', invoke, authorizeCaller });
  });
  afterAll(async () => {
    await gateway?.close();
    await tight?.close();
    await cors?.close();
    await Promise.all([...runtimes.values()].map((runtime) => runtime.close()));
    await rm(dir, { recursive: true, force: true });
  });

  it('matches routes with path parameters; a literal route beats a parameter', async () => {
    const item = await send(gateway.url, {
      path: '/items/abc%20d?x=1&x=2&y=',
      headers: { 'X-Multi': ['one', 'two'], cookie: 'c1=a; c2=b' },
    });
    expect(item.status).toBe(200);
    const { fn, event } = item.json();
    expect(fn).toBe('echo');
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'GET /items/{id}',
      rawPath: '/items/abc%20d',
      rawQueryString: 'x=1&x=2&y=',
      cookies: ['c1=a', 'c2=b'],
      queryStringParameters: { x: '1,2', y: '' },
      pathParameters: { id: 'abc d' },
      isBase64Encoded: false,
      requestContext: {
        accountId: '000000000000',
        apiId: gateway.apiId,
        http: { method: 'GET', path: '/items/abc%20d', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1' },
        routeKey: 'GET /items/{id}',
        stage: '$default',
      },
    });
    expect(event.headers['x-multi']).toBe('one,two');
    expect(event.headers.cookie).toBeUndefined();
    expect(event.body).toBeUndefined();
    expect(event.requestContext.authorizer).toBeUndefined();
    expect(event.requestContext.time).toBe(new Date(event.requestContext.timeEpoch).toISOString());
    expect(item.headers['apigw-requestid']).toBe(event.requestContext.requestId);

    const special = await send(gateway.url, { path: '/items/special' });
    expect(special.json()).toMatchObject({ fn: 'other', event: { routeKey: 'GET /items/special' } });

    const proxied = await send(gateway.url, { method: 'DELETE', path: '/files/a/b/c.txt' });
    expect(proxied.json().event).toMatchObject({ routeKey: 'ANY /files/{proxy+}', pathParameters: { proxy: 'a/b/c.txt' } });
  });

  it('answers 404 Not Found for a path or method without a route', async () => {
    const misses: [string, string][] = [
      ['GET', '/nowhere'],
      ['POST', '/items/abc'],
      ['GET', '/items'],
      ['GET', '/items/a/b'],
      ['GET', '/files/'],
    ];
    for (const [method, path] of misses) {
      const answer = await send(gateway.url, { method, path });
      expect(answer.status, `${method} ${path}`).toBe(404);
      expect(answer.json()).toEqual({ message: 'Not Found' });
    }
  });

  it('refuses an unsigned or wrongly signed call of an AWS_IAM route with 403 Forbidden', async () => {
    const unsigned = await send(gateway.url, { path: '/private/7' });
    expect(unsigned.status).toBe(403);
    expect(unsigned.json()).toEqual({ message: 'Forbidden' });

    const headers = await signed(gateway.url, 'GET', '/private/7');
    const tampered = await send(gateway.url, { path: '/private/8', headers });
    expect(tampered.status).toBe(403);

    const wrongKey = await signed(gateway.url, 'GET', '/private/7', '', { ...CREDENTIALS, secretAccessKey: 'not-the-secret' });
    expect((await send(gateway.url, { path: '/private/7', headers: wrongKey })).status).toBe(403);
  });

  it('passes a correctly signed call, with the caller in authorizer.iam and the execute-api resource checked', async () => {
    calls.length = 0;
    const headers = await signed(gateway.url, 'GET', '/private/7?view=full');
    const answer = await send(gateway.url, { path: '/private/7?view=full', headers });
    expect(answer.status).toBe(200);
    const { event } = answer.json();
    expect(event.pathParameters).toEqual({ id: '7' });
    expect(event.requestContext.authorizer.iam).toMatchObject({
      accessKey: CREDENTIALS.accessKeyId,
      accountId: '000000000000',
      userArn: 'arn:aws:iam::000000000000:user/twin-test',
    });
    expect(calls.at(-1)).toMatchObject({
      action: 'execute-api:Invoke',
      resource: `arn:aws:execute-api:us-east-1:000000000000:${gateway.apiId}/$default/GET/private/7`,
    });
    // The stage's access log format, filled in.
    const requestId = answer.headers['apigw-requestid'];
    expect(accessLines.find((line) => line.endsWith(` ${requestId}`))).toMatch(
      new RegExp(
        `^127\\.0\\.0\\.1 ${CREDENTIALS.accessKeyId} \\[\\d\\d/[A-Z][a-z]{2}/\\d{4}:\\d\\d:\\d\\d:\\d\\d \\+0000\\] "GET /private/\\{id\\} HTTP/1\\.1" 200 \\d+ `,
      ),
    );
  });

  it('sends text bodies as text and other bodies base64-encoded', async () => {
    const binary = await send(gateway.url, {
      method: 'POST',
      path: '/echo',
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.from([0, 255, 1]),
    });
    expect(binary.json().event).toMatchObject({ body: 'AP8B', isBase64Encoded: true });
    const audio = await send(gateway.url, { method: 'POST', path: '/echo', headers: { 'content-type': 'audio/wav' }, body: 'RIFF' });
    expect(audio.json().event).toMatchObject({ body: Buffer.from('RIFF').toString('base64'), isBase64Encoded: true });
    const json = await send(gateway.url, {
      method: 'POST',
      path: '/echo',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: '{"a":"é"}',
    });
    expect(json.json().event).toMatchObject({ body: '{"a":"é"}', isBase64Encoded: false });
  });

  it('maps results by the 2.0 rules, including results that are not responses', async () => {
    const text = await send(gateway.url, { path: '/answer?answer=string' });
    expect([text.status, text.headers['content-type'], text.body.toString()]).toEqual([200, 'application/json', 'plain words']);
    const number = await send(gateway.url, { path: '/answer?answer=number' });
    expect([number.status, number.body.toString()]).toEqual([200, '42']);
    const object = await send(gateway.url, { path: '/answer?answer=object' });
    expect([object.status, object.headers['content-type'], object.json()]).toEqual([200, 'application/json', { a: 1 }]);
    const response = await send(gateway.url, { path: '/answer?answer=response' });
    expect(response.status).toBe(201);
    expect(response.headers['x-kind']).toBe('binary');
    expect(response.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2']);
    expect([...response.body]).toEqual([0, 1, 254, 255]);
  });

  it('answers 500 when the function throws or times out, 503 past the integration timeout', async () => {
    const failed = await send(gateway.url, { path: '/fail' });
    expect([failed.status, failed.json()]).toEqual([500, { message: 'Internal Server Error' }]);
    const slow = await send(gateway.url, { path: '/slow' });
    expect([slow.status, slow.json()]).toEqual([500, { message: 'Internal Server Error' }]);
    expect(runtimes.get('SlowFn')!.stats().timeouts).toBe(1);
    const short = await send(gateway.url, { path: '/short' });
    expect([short.status, short.json()]).toEqual([503, { message: 'Service Unavailable' }]);
  });

  it('answers 413 for a body over 10 MB, and for one over Lambda 6 MB request limit', async () => {
    const huge = await send(gateway.url, {
      method: 'POST',
      path: '/echo',
      headers: { 'content-type': 'text/plain' },
      body: Buffer.alloc(10 * 1024 * 1024 + 1, 97),
    });
    expect([huge.status, huge.json()]).toEqual([413, { message: 'Request Entity Too Large' }]);
    const big = await send(gateway.url, {
      method: 'POST',
      path: '/echo',
      headers: { 'content-type': 'text/plain' },
      body: Buffer.alloc(7 * 1024 * 1024, 97),
    });
    expect([big.status, big.json()]).toEqual([413, { message: 'Request Entity Too Large' }]);
  });

  it('answers a CORS preflight itself, before the IAM authorizer, for an allowed or wildcard-matched origin', async () => {
    const before = calls.length;
    const preflight = (origin: string) =>
      send(cors.url, {
        method: 'OPTIONS',
        path: '/cors',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' },
      });
    const allowed = await preflight('https://eu.example.org');
    expect(allowed.status).toBe(204);
    expect(allowed.headers).toMatchObject({
      'access-control-allow-origin': 'https://eu.example.org',
      'access-control-allow-methods': 'GET,POST',
      'access-control-allow-headers': 'authorization,content-type',
      'access-control-max-age': '600',
      'access-control-allow-credentials': 'true',
    });
    expect(calls.length).toBe(before);
    const refused = await preflight('https://example.org.evil.test');
    expect(refused.status).toBe(204);
    expect(Object.keys(refused.headers).filter((name) => name.startsWith('access-control-'))).toEqual([]);
    // Without CORS configured, OPTIONS is just a method no route has.
    expect(
      (
        await send(gateway.url, {
          method: 'OPTIONS',
          path: '/answer',
          headers: { origin: 'https://app.example.com', 'access-control-request-method': 'GET' },
        })
      ).status,
    ).toBe(404);
  });

  it("puts the configured CORS headers on an allowed origin's answer and drops the function's own", async () => {
    const allowed = await send(cors.url, { path: '/cors', headers: { origin: 'https://app.example.com' } });
    expect(allowed.status).toBe(200);
    expect(allowed.headers).toMatchObject({
      'access-control-allow-origin': 'https://app.example.com',
      'access-control-expose-headers': 'apigw-requestid',
      'access-control-allow-credentials': 'true',
      'x-own': 'kept',
    });
    expect(allowed.headers['access-control-allow-methods']).toBeUndefined();
    const other = await send(cors.url, { path: '/cors', headers: { origin: 'https://elsewhere.test' } });
    expect(other.status).toBe(200);
    expect(Object.keys(other.headers).filter((name) => name.startsWith('access-control-'))).toEqual([]);
  });

  it('throttles a burst beyond the stage limit with 429 Too Many Requests', async () => {
    const answers = await Promise.all(Array.from({ length: 6 }, () => send(tight.url, { path: '/ping' })));
    const statuses = answers.map((answer) => answer.status).sort();
    expect(statuses).toEqual([200, 200, 200, 429, 429, 429]);
    expect(answers.find((answer) => answer.status === 429)!.json()).toEqual({ message: 'Too Many Requests' });
  });
});

describe('twin API Gateway on a real cdk synth', () => {
  let synth: Awaited<ReturnType<typeof synthToTemp>>;
  let real: TwinTemplate;
  let gateway: ApiGateway;
  const runtimes = new Map<string, FunctionRuntime>();

  beforeAll(async () => {
    // TWIN_TEST_CDK_OUT: reuse an assembly already synthesized (while iterating); by default the run's synth.
    const reuse = process.env.TWIN_TEST_CDK_OUT;
    synth = reuse ? { dir: reuse, remove: async () => {} } : await synthToTemp();
    real = loadTemplate(synth.dir);
    const functions = real.functions();
    const invoke = (id: string, event: unknown) => {
      let runtime = runtimes.get(id);
      if (!runtime) {
        runtime = functionRuntimeOf(functions[id]!, { log: () => {} });
        runtimes.set(id, runtime);
      }
      return runtime.invoke(event);
    };
    gateway = await startApiGateway({ template: real, invoke, authorizeCaller: () => false });
  }, 180_000);
  afterAll(async () => {
    await gateway?.close();
    await Promise.all([...runtimes.values()].map((runtime) => runtime.close()));
    await synth?.remove();
  });

  it('serves every route of the template, each bound to its own function', () => {
    const routeIds = real.ofType('AWS::ApiGatewayV2::Route');
    expect(gateway.routes).toHaveLength(routeIds.length);
    expect(gateway.routes.length).toBeGreaterThanOrEqual(14);
    const byKey = new Map(gateway.routes.map((route) => [route.routeKey, route]));
    expect(byKey.get('GET /openapi.json')).toMatchObject({
      authorizationType: 'NONE',
      functionLogicalId: expect.stringMatching(/^GetOpenapiFunction/),
    });
    expect(byKey.get('GET /sessions/{session_id}')).toMatchObject({
      authorizationType: 'AWS_IAM',
      functionLogicalId: expect.stringMatching(/^GetSessionFunction/),
    });
    expect(new Set(gateway.routes.map((route) => route.functionLogicalId)).size).toBe(gateway.routes.length);
  });

  it('answers GET /openapi.json from the bundled function, and refuses an unsigned IAM route', async () => {
    const openapi = await send(gateway.url, { path: '/openapi.json' });
    expect(openapi.status).toBe(200);
    expect(openapi.json().openapi).toMatch(/^3\.1/);
    const refused = await send(gateway.url, { path: '/sessions/session-1' });
    expect([refused.status, refused.json()]).toEqual([403, { message: 'Forbidden' }]);
    // Refused at the gateway: the function never ran.
    expect([...runtimes.keys()].some((id) => id.startsWith('GetSessionFunction'))).toBe(false);
  });
});
