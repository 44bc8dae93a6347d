/**
 * The twin's S3: s3rver (its own process, a private port) behind an HTTP proxy on the port the functions
 * use (AWS_ENDPOINT_URL_S3). The proxy does what S3 does before and after storage: it authenticates the
 * SigV4 request and asks the IAM gate about the operation's action and resource (answering S3's error
 * XML when refused), decodes aws-chunked bodies, answers 403 instead of 404 for a missing key when the
 * caller may not list the bucket, and emits ObjectCreated records after a successful write. Everything
 * else is s3rver's, reached with s3rver's own credentials.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { S3Client } from '@aws-sdk/client-s3';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { S3EventRecord } from 'aws-lambda';
import type { GateAnswer, TwinGate } from '../iam/gate';
import { parseQuery } from '../iam/sigv4';
import { TWIN_REGION } from '../identity';
import { ChunkedFormatError, crc32Base64, decodeAwsChunked, isAwsChunked } from './aws-chunked';
import { bucketCors, type S3CorsRule } from './cors';
import { type ObjectCreatedEventName, objectCreatedRecord } from './events';
import { operationOf, type S3Operation, type S3Target, targetOf } from './operations';

export interface StartS3Options {
  gate: Pick<TwinGate, 'authorize' | 'allows'>;
  /** The bucket s3rver creates (the template's data bucket name). */
  bucket: string;
  /** Where s3rver keeps objects; a temporary folder (removed on close) when omitted. */
  dataDir?: string;
  /** The proxy's port; 0 (default) picks a free one. */
  port?: number;
  /** The bucket's CorsConfiguration.CorsRules from the template; none: CORS is not enabled. */
  corsRules?: S3CorsRule[];
}

export interface TwinS3 {
  /** http://127.0.0.1:<port>: the SDK goes path style for an IP endpoint. */
  url: string;
  /** http://localhost:<port>: the SDK goes virtual-host style (<bucket>.localhost); needs RESOLVE_LOCALHOST_PRELOAD. */
  virtualHostUrl: string;
  /** s3rver itself, behind the proxy (no IAM). */
  s3rverUrl: string;
  /** A client straight to s3rver with its own credentials: seed or inspect objects without IAM. */
  adminClient(): S3Client;
  /** Called after every successful object creation; returns a function that unsubscribes. */
  onObjectCreated(listener: (record: TwinS3EventRecord) => unknown): () => void;
  close(): Promise<void>;
}

/** An S3 event record (aws-lambda's type), open to extra fields so it fits looser record types. */
export type TwinS3EventRecord = S3EventRecord & { [key: string]: unknown };

const SERVER_SCRIPT = fileURLToPath(new URL('./s3rver-server.mjs', import.meta.url));
const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/** Headers that belong to the caller's signature or framing, not to the object: never forwarded. */
const DROPPED_HEADERS = new Set([
  'host',
  'authorization',
  'x-amz-date',
  'x-amz-content-sha256',
  'x-amz-security-token',
  'x-amz-decoded-content-length',
  'x-amz-trailer',
  'x-amz-sdk-checksum-algorithm',
  'content-length',
  'content-md5',
  'transfer-encoding',
  'connection',
  'expect',
  'keep-alive',
]);

const PRESIGN_PARAMS = new Set([
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Signature',
  'X-Amz-Security-Token',
]);

const xmlEscape = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
const xmlUnescape = (text: string) =>
  text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, d) => String.fromCodePoint(Number(d)))
    .replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCodePoint(Number.parseInt(h, 16)))
    .replace(/&amp;/g, '&');

const sha256Base64 = (body: Uint8Array) => createHash('sha256').update(body).digest('base64');

const newRequestId = () => randomBytes(8).toString('hex').toUpperCase();

/** S3's answer when the gate refuses: the code S3 uses for each kind of refusal. */
const s3ErrorOf = (answer: Extract<GateAnswer, { allowed: false }>): { status: number; code: string; message: string } => {
  switch (answer.reason) {
    case 'policy':
    case 'unsigned':
      return { status: 403, code: 'AccessDenied', message: 'Access Denied' };
    case 'expired':
      return { status: 403, code: 'AccessDenied', message: 'Request has expired' };
    case 'signature-mismatch':
      return {
        status: 403,
        code: 'SignatureDoesNotMatch',
        message: 'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      };
    case 'unknown-key':
      return { status: 403, code: 'InvalidAccessKeyId', message: 'The AWS Access Key Id you provided does not exist in our records.' };
    case 'invalid-token':
      return { status: 400, code: 'InvalidToken', message: 'The provided token is malformed or otherwise invalid.' };
    case 'skewed':
      return {
        status: 403,
        code: 'RequestTimeTooSkewed',
        message: 'The difference between the request time and the current time is too large.',
      };
    case 'content-sha256-mismatch':
      return {
        status: 400,
        code: 'XAmzContentSHA256Mismatch',
        message: "The provided 'x-amz-content-sha256' header does not match what was computed.",
      };
    case 'malformed':
    case 'wrong-scope':
      return { status: 400, code: 'AuthorizationHeaderMalformed', message: answer.message };
  }
};

interface Forwarded {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

export const startS3 = async (options: StartS3Options): Promise<TwinS3> => {
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'twin-s3-')));
  const child: ChildProcess = spawn(process.execPath, ['--openssl-legacy-provider', SERVER_SCRIPT, dataDir, options.bucket], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let childStderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (childStderr = (childStderr + chunk.toString()).slice(-4000)));
  const s3rverPort = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => resolve((JSON.parse(line) as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`s3rver exited with ${code}: ${childStderr}`)));
  });
  const s3rverHost = `127.0.0.1:${s3rverPort}`;
  const s3rverUrl = `http://${s3rverHost}`;
  const signer = new SignatureV4({
    credentials: S3RVER_CREDENTIALS,
    region: TWIN_REGION,
    service: 's3',
    sha256: Hash.bind(null, 'sha256'),
    uriEscapePath: false,
    applyChecksum: false,
  });
  const listeners = new Set<(record: TwinS3EventRecord) => unknown>();
  const clients: S3Client[] = [];

  /** Sends a request to s3rver, signed with its own key (it checks only that the key exists, but it is signed properly). */
  const forward = async (
    method: string,
    path: string,
    rawQuery: string,
    headers: Record<string, string>,
    body: Buffer,
  ): Promise<Forwarded> => {
    const query: Record<string, string | string[]> = {};
    for (const [key, value] of parseQuery(rawQuery)) {
      const existing = query[key];
      query[key] = existing === undefined ? value : [...[existing].flat(), value];
    }
    const signed = await signer.sign(
      {
        method,
        protocol: 'http:',
        hostname: '127.0.0.1',
        port: s3rverPort,
        path,
        query,
        headers: {
          ...headers,
          host: s3rverHost,
          'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
          ...(body.length || method === 'PUT' || method === 'POST' ? { 'content-length': String(body.length) } : {}),
        },
        body,
      },
      {},
    );
    return new Promise<Forwarded>((resolve, reject) => {
      const outgoing = httpRequest(
        { host: '127.0.0.1', port: s3rverPort, method, path: rawQuery ? `${path}?${rawQuery}` : path, headers: signed.headers },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 502,
              headers: response.headers as Record<string, string | string[]>,
              body: Buffer.concat(chunks),
            }),
          );
          response.on('error', reject);
        },
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  };

  const sendError = (
    res: ServerResponse,
    method: string,
    requestId: string,
    status: number,
    code: string,
    message: string,
    extra: Record<string, string> = {},
  ) => {
    const body =
      method === 'HEAD'
        ? ''
        : `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message>${Object.entries(
            extra,
          )
            .map(([k, v]) => `<${k}>${xmlEscape(v)}</${k}>`)
            .join('')}<RequestId>${requestId}</RequestId><HostId>${Buffer.from(requestId).toString('base64')}</HostId></Error>`;
    res.writeHead(status, {
      'content-type': 'application/xml',
      'x-amz-request-id': requestId,
      'x-amz-id-2': Buffer.from(requestId).toString('base64'),
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  };

  const sendForwarded = (res: ServerResponse, requestId: string, forwarded: Forwarded, method: string) => {
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(forwarded.headers)) {
      if (['connection', 'transfer-encoding', 'keep-alive', 'content-length', 'x-amz-request-id', 'x-amz-id-2'].includes(name)) continue;
      headers[name] = value;
    }
    headers['x-amz-request-id'] = requestId;
    headers['x-amz-id-2'] = Buffer.from(requestId).toString('base64');
    // HEAD answers keep s3rver's content-length (the object's size), with no body.
    const length = method === 'HEAD' ? forwarded.headers['content-length'] : String(forwarded.body.length);
    if (length !== undefined) headers['content-length'] = length;
    res.writeHead(forwarded.status, headers);
    res.end(method === 'HEAD' ? undefined : forwarded.body);
  };

  const emit = (record: TwinS3EventRecord) => {
    for (const listener of listeners) {
      setImmediate(() => {
        Promise.resolve()
          .then(() => listener(record))
          .catch((error: unknown) =>
            process.stderr.write(`${JSON.stringify({ twin: 's3-event-listener-failed', error: String(error) })}\n`),
          );
      });
    }
  };

  const headSize = async (path: string) => {
    const head = await forward('HEAD', path, '', {}, Buffer.alloc(0));
    return Number(head.headers['content-length'] ?? 0);
  };

  /** DeleteObjects: S3 checks s3:DeleteObject per key and reports the refused keys as errors in a 200 answer. */
  const deleteObjects = async (target: S3Target, principal: string, rawQuery: string, headers: Record<string, string>, body: Buffer) => {
    const xml = body.toString('utf8');
    const keys = [...xml.matchAll(/<Key>([\s\S]*?)<\/Key>/g)].map((m) => xmlUnescape(m[1]!));
    const quiet = /<Quiet>\s*true\s*<\/Quiet>/i.test(xml);
    const refused: string[] = [];
    const allowed: string[] = [];
    for (const key of keys) {
      const ok = await options.gate.allows(principal, 's3', {
        action: 's3:DeleteObject',
        resource: `arn:aws:s3:::${target.bucket}/${key}`,
      });
      (ok ? allowed : refused).push(key);
    }
    let result = '<?xml version="1.0" encoding="UTF-8"?>\n<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></DeleteResult>';
    let status = 200;
    if (allowed.length > 0) {
      const subset = `<?xml version="1.0" encoding="UTF-8"?><Delete>${quiet ? '<Quiet>true</Quiet>' : ''}${allowed.map((k) => `<Object><Key>${xmlEscape(k)}</Key></Object>`).join('')}</Delete>`;
      const subsetBody = Buffer.from(subset);
      const forwarded = await forward(
        'POST',
        `/${target.bucket}`,
        rawQuery,
        { ...headers, 'content-md5': createHash('md5').update(subsetBody).digest('base64') },
        subsetBody,
      );
      if (forwarded.status !== 200) return forwarded;
      result = forwarded.body.toString('utf8');
      status = forwarded.status;
    }
    const errors = refused
      .map((k) => `<Error><Key>${xmlEscape(k)}</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
      .join('');
    if (errors) {
      result = /<\/DeleteResult>\s*$/.test(result)
        ? result.replace(/<\/DeleteResult>\s*$/, `${errors}</DeleteResult>`)
        : result.replace(/<DeleteResult([^>]*)\/>/, `<DeleteResult$1>${errors}</DeleteResult>`);
    }
    return { status, headers: { 'content-type': 'application/xml' }, body: Buffer.from(result) } satisfies Forwarded;
  };

  const cors = bucketCors(options.corsRules);
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const requestId = newRequestId();
    const method = (req.method ?? 'GET').toUpperCase();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    const rawQuery = q < 0 ? '' : url.slice(q + 1);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks);

    // A preflight carries no credentials: S3 answers it from the bucket's CORS rules alone.
    if (cors.isPreflight(method, req.headers)) {
      const preflight = cors.preflight(req.headers);
      if (!preflight.allowed) return sendError(res, method, requestId, 403, preflight.code, preflight.message);
      res.writeHead(200, { ...preflight.headers, 'x-amz-request-id': requestId, 'content-length': '0' });
      return res.end();
    }
    for (const [name, value] of Object.entries(cors.answerHeaders(method, req.headers))) res.setHeader(name, value);

    const target = targetOf(req.headers.host, rawPath);
    if (!target)
      return sendError(
        res,
        method,
        requestId,
        400,
        'InvalidRequest',
        'The request addresses no bucket (ListBuckets is not served by the twin).',
      );
    const operation: S3Operation | undefined = operationOf(method, target, rawQuery, req.headers);
    if (!operation)
      return sendError(
        res,
        method,
        requestId,
        501,
        'NotImplemented',
        'A header or query you provided implies functionality that is not implemented (by the twin).',
      );

    const answer = await options.gate.authorize(
      's3',
      { method, path: rawPath, query: rawQuery, headers: req.headers, body: rawBody },
      operation.checks,
    );
    if (!answer.allowed) {
      const error = s3ErrorOf(answer);
      return sendError(res, method, requestId, error.status, error.code, error.message);
    }
    if (target.bucket !== options.bucket)
      return sendError(res, method, requestId, 404, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: target.bucket });

    // The object's bytes: aws-chunked framing removed (and its trailing CRC32 checked, as S3 does).
    let body: Buffer = rawBody;
    if (isAwsChunked(req.headers) && rawBody.length > 0) {
      try {
        const decoded = decodeAwsChunked(rawBody);
        body = decoded.body;
        const crc = decoded.trailers['x-amz-checksum-crc32'];
        if (crc !== undefined && crc !== crc32Base64(body)) {
          return sendError(res, method, requestId, 400, 'BadDigest', 'The CRC32 you specified did not match the calculated checksum.');
        }
        const sha = decoded.trailers['x-amz-checksum-sha256'];
        if (sha !== undefined && sha !== sha256Base64(body)) {
          return sendError(res, method, requestId, 400, 'BadDigest', 'The sha256 you specified did not match the calculated checksum.');
        }
      } catch (error) {
        if (error instanceof ChunkedFormatError) return sendError(res, method, requestId, 400, 'IncompleteBody', error.message);
        throw error;
      }
    }
    // A checksum sent as a header (the SDK's default for a body of known length) is checked the same way,
    // and so is one a presigned URL carries in its query (the SDK's default signs the empty body's CRC32).
    const headerCrc = req.headers['x-amz-checksum-crc32'] ?? new URLSearchParams(rawQuery).get('x-amz-checksum-crc32') ?? undefined;
    if (typeof headerCrc === 'string' && body.length > 0 && headerCrc !== crc32Base64(body)) {
      return sendError(res, method, requestId, 400, 'BadDigest', 'The CRC32 you specified did not match the calculated checksum.');
    }
    // A SHA-256 a presigned PUT signed (functions/adapters/object-store/s3.ts) is checked against every body, as S3 does.
    const headerSha = req.headers['x-amz-checksum-sha256'] ?? new URLSearchParams(rawQuery).get('x-amz-checksum-sha256') ?? undefined;
    if (typeof headerSha === 'string' && headerSha !== sha256Base64(body)) {
      return sendError(res, method, requestId, 400, 'BadDigest', 'The sha256 you specified did not match the calculated checksum.');
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined || DROPPED_HEADERS.has(name) || name.startsWith('x-amz-checksum-')) continue;
      if (name === 'content-encoding') {
        const rest = String(value)
          .split(',')
          .map((e) => e.trim())
          .filter((e) => e && e !== 'aws-chunked');
        if (rest.length) headers[name] = rest.join(',');
        continue;
      }
      headers[name] = Array.isArray(value) ? value.join(',') : value;
    }
    if (req.headers['content-md5'] && body === rawBody) headers['content-md5'] = String(req.headers['content-md5']);
    // A presigned URL's own signature stays here: s3rver gets the proxy's signature only.
    const forwardQuery = rawQuery
      .split('&')
      .filter((part) => part !== '' && !PRESIGN_PARAMS.has(part.split('=')[0]!))
      .join('&');
    const s3rverPath = target.style === 'path' ? rawPath : `/${encodeURIComponent(target.bucket)}${rawPath === '/' ? '' : rawPath}`;
    const objectPath = `/${encodeURIComponent(target.bucket)}/${target.rawKey}`;

    let forwarded: Forwarded;
    if (operation.name === 'DeleteObjects') forwarded = await deleteObjects(target, answer.principal, forwardQuery, headers, body);
    else forwarded = await forward(method, s3rverPath, forwardQuery, headers, body);

    // Without s3:ListBucket, S3 does not reveal whether a key exists: 403, not 404.
    if ((operation.name === 'GetObject' || operation.name === 'HeadObject') && forwarded.status === 404) {
      const mayList = await options.gate.allows(answer.principal, 's3', {
        action: 's3:ListBucket',
        resource: `arn:aws:s3:::${target.bucket}`,
      });
      if (!mayList) return sendError(res, method, requestId, 403, 'AccessDenied', 'Access Denied');
    }
    // The record is built before the answer goes out (a completed upload's size needs a HEAD), and
    // delivered after it, asynchronously, as S3 delivers notifications.
    const created: Partial<Record<S3Operation['name'], ObjectCreatedEventName>> = {
      PutObject: 'ObjectCreated:Put',
      CopyObject: 'ObjectCreated:Copy',
      CompleteMultipartUpload: 'ObjectCreated:CompleteMultipartUpload',
    };
    const eventName = created[operation.name];
    let record: TwinS3EventRecord | undefined;
    // CompleteMultipartUpload can fail inside a 200 answer (an <Error> body), as on S3.
    if (eventName && forwarded.status === 200 && listeners.size > 0 && !/<Error>/.test(forwarded.body.toString('utf8', 0, 512))) {
      let eTag = String(forwarded.headers.etag ?? '');
      if (!eTag)
        eTag =
          forwarded.body
            .toString('utf8')
            .match(/<ETag>([^<]*)<\/ETag>/)?.[1]
            ?.replace(/&quot;/g, '"') ?? '';
      const size = operation.name === 'PutObject' ? body.length : await headSize(objectPath);
      record = objectCreatedRecord({
        eventName,
        bucket: target.bucket,
        key: target.key,
        size,
        eTag,
        principal: answer.principal,
        requestId,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
      }) as TwinS3EventRecord;
    }
    sendForwarded(res, requestId, forwarded, method);
    if (record) emit(record);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      process.stderr.write(`${JSON.stringify({ twin: 's3-proxy-error', error: String(error) })}\n`);
      if (!res.headersSent)
        sendError(res, req.method ?? 'GET', newRequestId(), 500, 'InternalError', 'We encountered an internal error. Please try again.');
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    virtualHostUrl: `http://localhost:${port}`,
    s3rverUrl,
    adminClient() {
      const client = new S3Client({
        endpoint: s3rverUrl,
        region: TWIN_REGION,
        forcePathStyle: true,
        credentials: S3RVER_CREDENTIALS,
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      });
      clients.push(client);
      return client;
    },
    onObjectCreated(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      for (const client of clients) client.destroy();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
};
