/**
 * The twin as an end-to-end target: the synthesized stack run in this test process (twin/main.ts),
 * called as a client calls API Gateway, with SigV4-signed requests.
 */
import { createHash } from 'node:crypto';
import { DeleteObjectCommand, GetObjectCommand, NoSuchKey } from '@aws-sdk/client-s3';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { inject } from 'vitest';
import { startTwin, type Twin, type TwinOptions } from '../../twin/main';
import { synthToTemp } from '../twin/synth';
import { type ApiResponse, readResponse } from './http';
import { keyOf, type Target, type TargetOptions } from './target';

export interface TwinTarget extends Target {
  kind: 'twin';
  twin: Twin;
}

/** Long enough that no scheduled snapshot lands inside a test unless the test asks for a schedule. */
const NO_SCHEDULE_SECONDS = 24 * 3600;

const parsedLogLine = (line: string): Record<string, unknown> | undefined => {
  const start = line.indexOf('{');
  if (start === -1) return undefined;
  try {
    const entry: unknown = JSON.parse(line.slice(start));
    return entry && typeof entry === 'object' && !Array.isArray(entry) ? (entry as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
};

const toBuffer = async (body: RequestInit['body']): Promise<Buffer> => {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (typeof body === 'string') return Buffer.from(body);
  return Buffer.from(await new Response(body).arrayBuffer());
};

/**
 * `twin` adds settings of the twin itself (stream quota, retry delay) for the tests that exercise them, and
 * a cloud assembly of the test's own (synthesized with other context) instead of the run's shared one.
 */
export const startTwinTarget = async (options: TargetOptions = {}, twin: Partial<Omit<TwinOptions, 'log'>> = {}): Promise<TwinTarget> => {
  const cdkOutDir = twin.cdkOutDir ?? inject('twinCdkOut') ?? (await synthToTemp()).dir;
  const logs: Record<string, unknown>[] = [];
  const started = await startTwin({
    scheduleSeconds: options.snapshotIntervalSeconds ?? NO_SCHEDULE_SECONDS,
    retryDelaySeconds: 2,
    ...twin,
    cdkOutDir,
    log: (line) => {
      const entry = parsedLogLine(line);
      if (entry) logs.push(entry);
      if (process.env.TWIN_LOG) process.stderr.write(`${line}\n`);
    },
  });
  // Every stream meets LimitExceededException, as when the account's quota is used up elsewhere.
  if (options.recognizer === 'busy') started.transcribe.setStreamQuota(0);
  const signer = new SignatureV4({
    service: 'execute-api',
    region: started.region,
    credentials: started.credentials,
    sha256: Hash.bind(null, 'sha256'),
  });

  const send = async <T>(method: string, path: string, init: Parameters<Target['request']>[2] = {}): Promise<ApiResponse<T>> => {
    const url = new URL(path, started.url);
    const headers: Record<string, string> = { host: url.host, ...init.headers };
    let body = await toBuffer(init.body);
    if (init.json !== undefined) {
      headers['content-type'] ??= 'application/json';
      body = Buffer.from(JSON.stringify(init.json));
    }
    const signed = await signer.sign({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { ...headers, 'x-amz-content-sha256': createHash('sha256').update(body).digest('hex') },
      body,
    });
    return readResponse<T>(await fetch(url, { method, headers: signed.headers, ...(body.length ? { body } : {}) }));
  };

  const readKey = async (key: string): Promise<Buffer | undefined> => {
    try {
      const object = await started.s3.adminClient().send(new GetObjectCommand({ Bucket: started.bucket, Key: key }));
      return Buffer.from(await object.Body!.transformToByteArray());
    } catch (error) {
      if (error instanceof NoSuchKey || (error as Error).name === 'NoSuchKey') return undefined;
      throw error;
    }
  };

  return {
    kind: 'twin',
    url: started.url,
    twin: started,
    logs,
    request: send,
    readKey,
    readObject: (filePath) => readKey(keyOf(filePath, 'twin')),
    removeKey: async (key) => {
      await started.s3.adminClient().send(new DeleteObjectCommand({ Bucket: started.bucket, Key: key }));
    },
    settled: () => started.events.settled(),
    stop: () => started.stop(),
  };
};
