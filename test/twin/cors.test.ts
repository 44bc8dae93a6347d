/**
 * CORS through what `cdk deploy` ships with `-c corsOrigins=...`: the stack synthesized with the setting,
 * run on the twin, whose API Gateway serves the Api's CorsConfiguration as AWS documents for HTTP APIs.
 * A preflight needs no signature (the gateway answers it before the IAM authorizer); the signed request
 * that follows gets Access-Control-Allow-Origin for an allowed Origin, and nothing for any other.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toneWav } from '../support/audio-fixtures';
import { startTwinTarget, type TwinTarget } from '../support/twin-target';
import { synthInto } from './synth';

const APP = 'http://app.example.test:3000';
const OTHER = 'http://elsewhere.example.test';

let target: TwinTarget;
let cdkOut: string;

const preflight = (path: string, origin: string, method: string, headers = 'authorization,content-type,x-amz-date') =>
  fetch(new URL(path, target.url), {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
  });

beforeAll(async () => {
  cdkOut = await mkdtemp(join(tmpdir(), 'twin-cors-cdk-out-'));
  await synthInto(cdkOut, { corsOrigins: APP });
  target = await startTwinTarget({}, { cdkOutDir: cdkOut });
}, 420_000);

afterAll(async () => {
  await target?.stop();
  if (cdkOut) await rm(cdkOut, { recursive: true, force: true });
});

describe('the twin API with corsOrigins', () => {
  it('answers a preflight itself, unsigned, with the configured methods, headers and max age', async () => {
    const response = await preflight('/sessions', APP, 'POST');
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(APP);
    expect(response.headers.get('access-control-allow-methods')?.split(',')).toEqual(['DELETE', 'GET', 'POST', 'PUT']);
    expect(response.headers.get('access-control-allow-headers')?.split(',')).toEqual(
      expect.arrayContaining(['authorization', 'content-type', 'x-amz-date', 'x-amz-security-token']),
    );
    expect(response.headers.get('access-control-max-age')).toBe('3600');
    // A path with no route is answered too: the preflight never reaches routing.
    expect((await preflight('/sessions/s1/hold', APP, 'PUT')).headers.get('access-control-allow-origin')).toBe(APP);
  });

  it('gives a preflight from another origin no CORS headers, so the browser stops there', async () => {
    const response = await preflight('/sessions', OTHER, 'POST');
    expect(response.status).toBe(204);
    expect([...response.headers.keys()].filter((name) => name.startsWith('access-control-'))).toEqual([]);
  });

  it('adds Access-Control-Allow-Origin to the signed answer for the allowed origin only', async () => {
    const created = await target.request('POST', '/sessions', { json: { session_id: 'cors-s1' }, headers: { origin: APP } });
    expect(created.status).toBe(201);
    expect(created.headers.get('access-control-allow-origin')).toBe(APP);
    expect(created.headers.get('access-control-expose-headers')).toBe('apigw-requestid');
    expect(created.headers.get('apigw-requestid')).toBeTruthy();

    const elsewhere = await target.request('GET', '/sessions/cors-s1', { headers: { origin: OTHER } });
    expect(elsewhere.status).toBe(200);
    expect(elsewhere.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('still requires the signature on the request itself', async () => {
    const unsigned = await fetch(new URL('/sessions/cors-s1', target.url), { headers: { origin: APP } });
    expect(unsigned.status).toBe(403);
  });

  it("lets the allowed origin PUT a direct upload through the bucket's CORS rule, and no other", async () => {
    await target.request('POST', '/sessions', { json: { session_id: 'cors-upload' } });
    const audio = toneWav({ seconds: 1 });
    const sha256 = createHash('sha256').update(audio).digest('hex');
    const ticket = await target.request('POST', '/sessions/cors-upload/audio_chunks/uploads', {
      json: { content_type: 'audio/wav', size_bytes: audio.length, sha256 },
    });
    expect(ticket.status).toBe(201);
    const { upload_url: url, headers } = ticket.json.data as { upload_url: string; headers: Record<string, string> };
    const { 'content-length': _length, ...sent } = headers;
    const requested = Object.keys(sent).join(',');
    const s3Preflight = (origin: string) =>
      fetch(url, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'PUT', 'access-control-request-headers': requested },
      });

    const allowed = await s3Preflight(APP);
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(APP);
    expect(allowed.headers.get('access-control-allow-headers')?.split(', ')).toEqual(Object.keys(sent));
    expect((await s3Preflight(OTHER)).status).toBe(403);

    const put = await fetch(url, { method: 'PUT', headers: { ...sent, origin: APP }, body: audio });
    expect(put.status).toBe(200);
    expect(put.headers.get('access-control-allow-origin')).toBe(APP);
    expect(put.headers.get('access-control-expose-headers')).toBe('etag');
  });
});
