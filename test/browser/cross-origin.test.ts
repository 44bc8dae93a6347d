/**
 * CORS from a real browser: headless Debian Chromium loads a page from one origin (a node:http server of
 * this test) that calls `npm start` on another (another port) directly, as an interview platform's web
 * app calls this API: it creates a session, uploads a chunk as a raw body and another by direct upload
 * (the signed PUT URL), and reads both transcripts, every call with an Authorization header as a JWT
 * client sends it, so each one is preflighted. The stack runs with CORS_ORIGINS naming the page's origin;
 * a page from an origin it does not name is stopped at its first preflight, and nothing is created.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realWav } from '../support/audio-fixtures';
import { launchChromium } from '../support/chromium';
import { startLocalTarget, type Target } from '../support/target';

let target: Target;
let allowedPage: Server;
let otherPage: Server;
let browser: Browser;

/** The page: fetches its own recording, then talks to the API on the other origin. */
const PAGE = `<!doctype html><html><body><script>
window.run = async ({ api, sessionId }) => {
  const auth = { authorization: 'Bearer page-token' };
  const answer = async (response) => ({ status: response.status, body: await response.json() });
  const transcriptOf = async (chunkId) => {
    for (let i = 0; i < 240; i++) {
      const response = await fetch(api + '/transcript/' + sessionId + '/' + chunkId, { headers: auth });
      if (response.status === 200) return answer(response);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    return { status: 'timeout' };
  };
  try {
    const created = await answer(await fetch(api + '/sessions', {
      method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ session_id: sessionId }),
    }));
    const speech = await (await fetch('/speech.wav')).blob();
    const digest = await crypto.subtle.digest('SHA-256', await speech.arrayBuffer());
    const sha256 = [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, '0')).join('');
    const posted = await answer(await fetch(api + '/sessions/' + sessionId + '/audio_chunks?sequence=0&speaker=candidate', {
      method: 'POST', headers: { ...auth, 'content-type': 'audio/wav' }, body: speech,
    }));
    const ticket = await answer(await fetch(api + '/sessions/' + sessionId + '/audio_chunks/uploads', {
      method: 'POST', headers: { ...auth, 'content-type': 'application/json' },
      // With its digest, the PUT carries x-amz-checksum-sha256, which the preflight must allow too.
      body: JSON.stringify({ content_type: 'audio/wav', size_bytes: speech.size, sequence: 1, speaker: 'candidate', sha256 }),
    }));
    // A browser sets Content-Length itself; the ticket's other headers go as given.
    const { 'content-length': _length, ...putHeaders } = ticket.body.data.headers;
    const put = await fetch(ticket.body.data.upload_url, { method: 'PUT', headers: putHeaders, body: speech });
    return {
      created, posted, ticket, put: put.status,
      transcripts: [await transcriptOf(posted.body.data.chunk_id), await transcriptOf(ticket.body.data.chunk_id)],
    };
  } catch (error) {
    return { error: String(error) };
  }
};
</script></body></html>`;

const servePage = () =>
  new Promise<Server>((resolve) => {
    const speech = realWav('cards/001.wav');
    const server = createServer((request, response) => {
      if (request.url === '/speech.wav') response.writeHead(200, { 'content-type': 'audio/wav' }).end(speech);
      else response.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    });
    server.listen(0, '127.0.0.1', () => resolve(server));
  });

/** The page's origin: localhost, while the API is at 127.0.0.1 on another port. */
const originOf = (server: Server) => `http://localhost:${(server.address() as AddressInfo).port}`;

const runPage = async (server: Server, sessionId: string) => {
  const page = await browser.newPage();
  try {
    await page.goto(originOf(server));
    return await page.evaluate(({ api, sessionId: id }) => (globalThis as any).run({ api, sessionId: id }), { api: target.url, sessionId });
  } finally {
    await page.close();
  }
};

beforeAll(async () => {
  [allowedPage, otherPage] = await Promise.all([servePage(), servePage()]);
  target = await startLocalTarget({ env: { CORS_ORIGINS: `https://app.example.com,${originOf(allowedPage)}` } });
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all([allowedPage, otherPage].map((server) => new Promise((resolve) => server?.close(resolve))));
  await target?.stop();
});

describe('a page on another origin', () => {
  it('creates a session, uploads both ways and reads the transcripts when CORS_ORIGINS names it', { timeout: 150_000 }, async () => {
    const result = await runPage(allowedPage, 'cors-browser');
    expect(result.error).toBeUndefined();
    expect(result.created).toMatchObject({ status: 201, body: { data: { session_id: 'cors-browser' } } });
    expect(result.posted).toMatchObject({ status: 201, body: { data: { sequence: 0, speaker: 'candidate' } } });
    expect(result.ticket.status).toBe(201);
    expect(Object.keys(result.ticket.body.data.headers)).toContain('x-amz-checksum-sha256');
    expect(result.put).toBe(200);
    for (const transcript of result.transcripts) {
      expect(transcript.status).toBe(200);
      expect(transcript.body.data.transcript.toLowerCase()).toContain('clubs');
    }
  });

  it('is stopped at the first preflight when CORS_ORIGINS does not name it, and creates nothing', { timeout: 60_000 }, async () => {
    const result = await runPage(otherPage, 'cors-refused');
    expect(result.error).toMatch(/TypeError: Failed to fetch/);
    expect((await target.request('GET', '/sessions/cors-refused')).status).toBe(404);
  });
});
