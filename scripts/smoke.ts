/**
 * `npm run smoke -- --url URL`: checks health and every route of a running deployment, local or on AWS,
 * and prints a summary, like the seed's test_endpoints.py. Requests to API Gateway
 * (*.execute-api.<region>.amazonaws.com), or any URL with --sign (the twin), are signed with SigV4 from
 * the default AWS credential chain.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { int16LittleEndianBytes, pcm16ToWav } from '../functions/adapters/transcriber/pcm';

const { values: options } = parseArgs({
  options: {
    url: { type: 'string' },
    audio: { type: 'string' },
    region: { type: 'string' },
    sign: { type: 'boolean', default: false },
    'transcribe-timeout': { type: 'string', default: '60' },
  },
});
if (!options.url) {
  console.error('usage: npm run smoke -- --url URL [--sign] [--audio clip.wav] [--region us-east-1]');
  process.exit(2);
}
const base = new URL(options.url);
const apiGateway = /^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$/.exec(base.hostname);
const signer =
  apiGateway || options.sign
    ? new SignatureV4({
        service: 'execute-api',
        region: options.region ?? apiGateway?.[1] ?? 'us-east-1',
        credentials: defaultProvider(),
        sha256: Hash.bind(null, 'sha256'),
      })
    : undefined;

interface Reply {
  status: number;
  json: any;
}

const send = async (method: string, path: string, body?: Uint8Array | string, contentType?: string): Promise<Reply> => {
  const url = new URL(path, base.href.endsWith('/') ? base.href : `${base.href}/`);
  url.pathname = `${base.pathname.replace(/\/$/, '')}${path.split('?')[0]}`;
  let headers: Record<string, string> = { host: url.host, ...(contentType ? { 'content-type': contentType } : {}) };
  if (signer) {
    const signed = await signer.sign({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers,
      body,
    });
    headers = signed.headers as Record<string, string>;
  }
  const response = await fetch(url, { method, headers, body });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.status, json };
};

const results: { name: string; ok: boolean; detail: string; ms: number }[] = [];

const check = async (name: string, run: () => Promise<string>) => {
  const started = performance.now();
  try {
    const detail = await run();
    results.push({ name, ok: true, detail, ms: performance.now() - started });
  } catch (error) {
    results.push({ name, ok: false, detail: error instanceof Error ? error.message : String(error), ms: performance.now() - started });
  }
  const last = results.at(-1)!;
  console.log(`${last.ok ? 'PASS' : 'FAIL'}  ${name.padEnd(44)} ${last.ms.toFixed(0).padStart(6)} ms  ${last.detail}`);
};

const expectStatus = (reply: Reply, status: number, what: string) => {
  if (reply.status !== status)
    throw new Error(`${what}: expected ${status}, got ${reply.status} ${JSON.stringify(reply.json).slice(0, 200)}`);
  const envelopeOk = reply.json?.success === status < 400 && typeof reply.json?.message === 'string';
  if (!envelopeOk) throw new Error(`${what}: the body is not the envelope`);
  return reply.json;
};

/** Two seconds of a speech-band sweep when no clip is given: enough to exercise the recognizer end to end. */
const generatedWav = (): Uint8Array => {
  const rate = 16000;
  const samples = new Int16Array(rate * 2);
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round(8000 * Math.sin((2 * Math.PI * (200 + i / 40) * i) / rate));
  return pcm16ToWav(int16LittleEndianBytes(samples), rate);
};

const SAMPLE_CLIP = '/usr/share/pocketsphinx/test/data/cards/001.wav';
const audio = options.audio ? readFileSync(options.audio) : existsSync(SAMPLE_CLIP) ? readFileSync(SAMPLE_CLIP) : generatedWav();

const sessionId = `smoke-${Date.now()}`;
let chunkId = '';
let snapshotId = '';
/** What the recognizer heard in the uploaded clip: search must find the chunk by it. */
let heard = '';

console.log(`interview-ops smoke check against ${base.origin}${signer ? ' (SigV4)' : ''}\n`);
await check('GET /health', async () => {
  const body = expectStatus(await send('GET', '/health'), 200, 'health');
  if (body.data?.status !== 'ok') throw new Error(`health: expected status ok, got ${JSON.stringify(body.data)}`);
  return 'live';
});
await check('GET /health/deep', async () => {
  const body = expectStatus(await send('GET', '/health/deep'), 200, 'deep health');
  return JSON.stringify(body.data.checks);
});
await check('GET /openapi.json', async () => {
  // The one route that answers with a document for tools rather than the envelope.
  const reply = await send('GET', '/openapi.json');
  if (reply.status !== 200 || reply.json?.openapi !== '3.1.0') throw new Error(`openapi: expected a 3.1 document, got ${reply.status}`);
  return `${Object.keys(reply.json.paths ?? {}).length} paths`;
});
await check('POST /sessions', async () => {
  expectStatus(
    await send('POST', '/sessions', JSON.stringify({ session_id: sessionId, candidate: 'smoke' }), 'application/json'),
    201,
    'create',
  );
  return sessionId;
});
await check('GET /sessions/{session_id}', async () => {
  expectStatus(await send('GET', `/sessions/${sessionId}`), 200, 'get');
  return 'found';
});
await check('POST /sessions/{session_id}/audio_chunks', async () => {
  const body = expectStatus(await send('POST', `/sessions/${sessionId}/audio_chunks`, audio, 'audio/wav'), 201, 'upload');
  chunkId = body.data.chunk_id;
  return `chunk ${chunkId}, ${body.data.duration}s`;
});
await check('POST /sessions/{session_id}/audio_chunks/uploads', async () => {
  const body = expectStatus(
    await send(
      'POST',
      `/sessions/${sessionId}/audio_chunks/uploads`,
      JSON.stringify({ content_type: 'audio/wav', size_bytes: audio.length }),
      'application/json',
    ),
    201,
    'upload URL',
  );
  // The URL itself is signed: the PUT carries no credentials of its own.
  const put = await fetch(body.data.upload_url, { method: 'PUT', headers: body.data.headers, body: audio });
  if (put.status !== 200) throw new Error(`PUT to the upload URL answered ${put.status}`);
  return `chunk ${body.data.chunk_id} uploaded directly`;
});
await check('POST /sessions/{session_id}/code_history', async () => {
  const body = expectStatus(
    await send(
      'POST',
      `/sessions/${sessionId}/code_history`,
      JSON.stringify({ code: 'print(42)', language: 'python' }),
      'application/json',
    ),
    201,
    'code',
  );
  return `entry ${body.data.id}`;
});
await check('POST /sessions/{session_id}/execution_results', async () => {
  const body = expectStatus(
    await send(
      'POST',
      `/sessions/${sessionId}/execution_results`,
      JSON.stringify({ stdout: '42\n', stderr: '', exit_code: 0 }),
      'application/json',
    ),
    201,
    'execution',
  );
  return `result ${body.data.id}`;
});
await check('POST /process_chunk/{chunk_id}', async () => {
  const body = expectStatus(await send('POST', `/process_chunk/${chunkId}?session_id=${sessionId}`), 200, 'process');
  heard = String(body.data.transcript);
  return `"${String(body.data.transcript).slice(0, 40)}" (confidence ${body.data.confidence})`;
});
await check('GET /transcript/{session_id}/{chunk_id}', async () => {
  const body = expectStatus(await send('GET', `/transcript/${sessionId}/${chunkId}`), 200, 'transcript');
  return `${body.data.filename}, ${body.data.file_size} bytes`;
});
await check('GET /transcripts/{session_id}', async () => {
  const body = expectStatus(await send('GET', `/transcripts/${sessionId}`), 200, 'transcripts');
  if (body.data.total_count < 1) throw new Error('no transcripts listed');
  return `${body.data.total_count} transcript(s)`;
});
await check('GET /sessions/{session_id}/transcript', async () => {
  const body = expectStatus(await send('GET', `/sessions/${sessionId}/transcript`), 200, 'session transcript');
  const vtt = await send('GET', `/sessions/${sessionId}/transcript?format=vtt`);
  if (vtt.status !== 200 || !String(vtt.json).startsWith('WEBVTT'))
    throw new Error(`session transcript: expected WebVTT, got ${vtt.status}`);
  return `${body.data.segments.length} segment(s), ${body.data.gaps.length} gap(s)`;
});
await check('GET /search/transcripts', async () => {
  // The longest word heard (a short one may be a stop word the index leaves out); a silent clip has none.
  const word =
    heard
      .toLowerCase()
      .match(/[a-z]+/g)
      ?.sort((a, b) => b.length - a.length)[0] ?? 'smoke';
  const body = expectStatus(await send('GET', `/search/transcripts?q=${word}&session_id=${sessionId}`), 200, 'search');
  if (word !== 'smoke' && !body.data.results.some((result: { chunk_id: string }) => result.chunk_id === chunkId))
    throw new Error(`search: "${word}" was heard in chunk ${chunkId} but not found`);
  return `"${word}": ${body.data.results.length} result(s)`;
});
await check('POST /sandbox_snapshot/trigger', async () => {
  const reply = await send('POST', '/sandbox_snapshot/trigger');
  const body = expectStatus(reply, reply.status === 201 ? 201 : 200, 'trigger');
  snapshotId = body.data.snapshot_id;
  return `${snapshotId}, ${body.data.metadata.total_sessions} sessions`;
});
await check('GET /sandbox_snapshot', async () => {
  const body = expectStatus(await send('GET', '/sandbox_snapshot'), 200, 'latest');
  return body.data.snapshot_id;
});
await check('GET /sandbox_snapshot/{snapshot_id}', async () => {
  const body = expectStatus(await send('GET', `/sandbox_snapshot/${snapshotId}`), 200, 'snapshot');
  return `${body.data.metadata.total_audio_chunks} audio chunks`;
});
await check('GET /sandbox_snapshot/{snapshot_id}/parts/{part}', async () => {
  // Every snapshot is stored in parts; a big one lists them instead of its data.
  const body = expectStatus(await send('GET', `/sandbox_snapshot/${snapshotId}/parts/0`), 200, 'snapshot part');
  return `part 0 of ${body.data.parts_total}: ${body.data.rows.length} ${body.data.section} row(s)`;
});
await check('GET /sandbox_snapshots', async () => {
  const body = expectStatus(await send('GET', '/sandbox_snapshots'), 200, 'list');
  return `${body.data.total_count} snapshot(s)`;
});
await check('PUT /sessions/{session_id}/hold', async () => {
  expectStatus(await send('PUT', `/sessions/${sessionId}/hold`, JSON.stringify({ reason: 'smoke' }), 'application/json'), 200, 'hold');
  expectStatus(await send('DELETE', `/sessions/${sessionId}`), 409, 'erase while held');
  return 'held; erasure refused';
});
await check('DELETE /sessions/{session_id}/hold', async () => {
  const body = expectStatus(await send('DELETE', `/sessions/${sessionId}/hold`), 200, 'release');
  return body.data.released ? 'released' : 'no hold';
});
// Last of the session's checks: it erases the smoke session, so a run leaves nothing behind.
await check('DELETE /sessions/{session_id}', async () => {
  const body = expectStatus(await send('DELETE', `/sessions/${sessionId}`), 200, 'erase');
  return `${body.data.keys_deleted} object(s), ${body.data.rows.sessions} session row`;
});
await check('GET /sessions/{bad id} is a 400 envelope', async () => {
  expectStatus(await send('GET', '/sessions/..%2Fetc'), 400, 'bad id');
  return 'refused';
});

const failed = results.filter((result) => !result.ok).length;
console.log(`\nsmoke: ${results.length - failed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
