import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { fromApiGatewayResult, toApiGatewayEvent } from '../../functions/local/api-gateway-event';

/** Captures one real IncomingMessage by sending a real request to a throwaway server. */
const capture = async (path: string, headers: Record<string, string>, body: Buffer) => {
  let resolveRequest!: (value: { request: IncomingMessage; body: Buffer }) => void;
  const captured = new Promise<{ request: IncomingMessage; body: Buffer }>((resolve) => (resolveRequest = resolve));
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      resolveRequest({ request, body: Buffer.concat(chunks) });
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => {
    const outgoing = httpRequest({ port, host: '127.0.0.1', path, method: 'POST', headers }, (response) => {
      response.resume();
      response.on('end', resolve);
    });
    outgoing.end(body);
  });
  server.close();
  return captured;
};

describe('API Gateway v2 events from HTTP requests', () => {
  it('base64-encodes binary bodies and joins repeated query parameters', async () => {
    const audio = Buffer.from([0, 1, 2, 255, 254]);
    const { request, body } = await capture('/x/a%20b?q=1&q=2&s=%2F', { 'content-type': 'audio/wav', 'x-trace': 't' }, audio);
    const event = toApiGatewayEvent({
      request,
      body,
      routeKey: 'POST /x/{id}',
      rawPath: '/x/a%20b',
      rawQueryString: 'q=1&q=2&s=%2F',
      pathParameters: { id: 'a b' },
    });
    expect(event.version).toBe('2.0');
    expect(event.isBase64Encoded).toBe(true);
    expect(Buffer.from(event.body!, 'base64').equals(audio)).toBe(true);
    expect(event.queryStringParameters).toEqual({ q: '1,2', s: '/' });
    expect(event.pathParameters).toEqual({ id: 'a b' });
    expect(event.headers['x-trace']).toBe('t');
    expect(event.requestContext.http.method).toBe('POST');
    expect(event.routeKey).toBe('POST /x/{id}');
  });

  it('keeps query parameters named like Object.prototype members as plain fields', async () => {
    const { request, body } = await capture('/x?__proto__=a&constructor=b&constructor=c&toString=d', {}, Buffer.alloc(0));
    const event = toApiGatewayEvent({
      request,
      body,
      routeKey: 'POST /x',
      rawPath: '/x',
      rawQueryString: '__proto__=a&constructor=b&constructor=c&toString=d',
      pathParameters: {},
    });
    const query = event.queryStringParameters!;
    expect(Object.keys(query)).toEqual(['__proto__', 'constructor', 'toString']);
    expect(Object.getOwnPropertyDescriptor(query, '__proto__')?.value).toBe('a');
    expect(query.constructor).toBe('b,c');
    expect(Object.getPrototypeOf(query)).toBe(Object.prototype);
  });

  it('passes JSON bodies as text', async () => {
    const { request, body } = await capture('/x', { 'content-type': 'application/json' }, Buffer.from('{"a":"é"}'));
    const event = toApiGatewayEvent({ request, body, routeKey: 'POST /x', rawPath: '/x', rawQueryString: '', pathParameters: {} });
    expect(event.isBase64Encoded).toBe(false);
    expect(event.body).toBe('{"a":"é"}');
    expect(event.queryStringParameters).toBeUndefined();
  });
});

describe('HTTP responses from handler results', () => {
  it('decodes base64 bodies and keeps headers', () => {
    const reply = fromApiGatewayResult({
      statusCode: 201,
      headers: { 'x-a': 'b' },
      body: Buffer.from('hi').toString('base64'),
      isBase64Encoded: true,
    });
    expect(reply).toEqual({ statusCode: 201, headers: { 'x-a': 'b' }, body: Buffer.from('hi') });
  });

  it('treats a bare object as a 200 JSON body, as API Gateway does', () => {
    const reply = fromApiGatewayResult({ ok: true } as never);
    expect(reply.statusCode).toBe(200);
    expect(JSON.parse(reply.body.toString())).toEqual({ ok: true });
  });
});
