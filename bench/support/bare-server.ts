/**
 * The API benchmark's anchor: a bare node:http server answering, from memory, the very bodies our
 * stack answered. Run as its own process: BARE_BODIES is a JSON object of path → body.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const bodies = new Map<string, Buffer>(
  Object.entries(JSON.parse(process.env.BARE_BODIES ?? '{}') as Record<string, string>).map(([path, body]) => [path, Buffer.from(body)]),
);

const server = createServer((request, response) => {
  const body = bodies.get(request.url ?? '');
  if (!body) {
    response.writeHead(404).end();
    return;
  }
  response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(body.length) });
  response.end(body);
});
server.keepAliveTimeout = 5_000;
server.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ message: 'bare server listening', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
