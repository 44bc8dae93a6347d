/**
 * Done-when for browser audio (issue 17): headless Debian Chromium records real speech with
 * MediaRecorder(timeslice) from a fake microphone playing a WAV, and a page served by this test uploads
 * every timeslice blob to `npm start` as the session's next chunk (sequence, speaker). Each chunk must
 * get a transcript, and the words of all of them must match the recording about as well as the WAV
 * path's transcript of the same speech does. Ogg Opus and MP4 AAC files made by ffmpeg from the same
 * speech are held to the same bar.
 *
 * The page's own server forwards /api/* to the stack, so the browser uploads same-origin, as a
 * platform's backend-for-frontend would. Chromium's fake capture loops the file; the recording runs a
 * little longer than one pass, and the comparison counts words, so a repeated word is not a miss.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodedSpeech, POCKETSPHINX_TEST_DATA, wavSeconds } from '../support/audio-fixtures';
import { launchChromium } from '../support/chromium';
import type { ApiResponse } from '../support/http';
import { startLocalTarget, type Target } from '../support/target';
import { wordRecall, words } from '../support/word-recall';

const LIBRIVOX = `${POCKETSPHINX_TEST_DATA}/librivox`;
const CLIPS = ['0870', '0880', '0890'];
/** The words spoken, from the recordings' own transcription. */
const TRUTH = readFileSync(`${LIBRIVOX}/transcription`, 'utf8')
  .split('\n')
  .filter((line) => CLIPS.some((clip) => line.includes(`-${clip})`)))
  .map((line) => line.replace(/<\/?s>|\(.*\)/g, ''))
  .join(' ');

/** Blobs of this many milliseconds: each holds several words of continuous speech. */
const TIMESLICE_MS = 4000;
/** Scored words may fall short of the WAV path's share of the spoken words by at most this much. */
const TOLERANCE = 0.15;

let target: Target;
let pageServer: Server;
let browser: Browser;
let workDir: string;
let speechWav: string;
let wavRecall: number;

const recall = (transcript: string, truth = TRUTH): number => wordRecall(transcript, truth);

const call: Target['request'] = (method, path, init) => target.request(method, path, init);

const awaitTranscript = async (sessionId: string, chunkId: string): Promise<ApiResponse> => {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const response = await call('GET', `/transcript/${sessionId}/${chunkId}`);
    if (response.status === 200 || Date.now() > deadline) return response;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
};

/** The test's own page, and /api/* forwarded to the stack. */
const PAGE = `<!doctype html><html><body><script>
window.recordAndUpload = async ({ sessionId, speaker, mimeType, timeslice, millis }) => {
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
  });
  const recorder = new MediaRecorder(stream, { mimeType });
  let sequence = 0;
  let uploads = Promise.resolve();
  const answers = [];
  recorder.ondataavailable = (event) => {
    const url = '/api/sessions/' + sessionId + '/audio_chunks?sequence=' + sequence++ + '&speaker=' + speaker;
    // One upload at a time, in order: a continuation needs its track's first blob stored.
    uploads = uploads.then(async () => {
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': recorder.mimeType }, body: event.data });
      answers.push({ status: response.status, size: event.data.size, body: await response.json() });
    });
  };
  const stopped = new Promise((resolve) => (recorder.onstop = resolve));
  recorder.start(timeslice);
  await new Promise((resolve) => setTimeout(resolve, millis));
  recorder.stop();
  await stopped;
  await uploads;
  stream.getTracks().forEach((track) => track.stop());
  return { mimeType: recorder.mimeType, answers };
};
</script></body></html>`;

const servePage = (stackUrl: string) =>
  new Promise<Server>((resolve) => {
    const server = createServer(async (req, res) => {
      if (!req.url?.startsWith('/api/')) {
        res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
        return;
      }
      const parts: Buffer[] = [];
      for await (const part of req) parts.push(part as Buffer);
      const forwarded = await fetch(`${stackUrl}${req.url.slice('/api'.length)}`, {
        method: req.method,
        headers: { 'content-type': req.headers['content-type'] ?? 'application/octet-stream' },
        body: parts.length ? Buffer.concat(parts) : undefined,
      });
      res.writeHead(forwarded.status, { 'content-type': forwarded.headers.get('content-type') ?? 'application/json' });
      res.end(Buffer.from(await forwarded.arrayBuffer()));
    });
    server.listen(0, '127.0.0.1', () => resolve(server));
  });

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'interview-ops-browser-'));
  speechWav = join(workDir, 'speech.wav');
  execFileSync('sox', [...CLIPS.map((clip) => `${LIBRIVOX}/sense_and_sensibility_01_austen_64kb-${clip}.wav`), speechWav]);
  target = await startLocalTarget();
  pageServer = await servePage(target.url);
  browser = await launchChromium([
    '--use-fake-ui-for-media-stream',
    '--use-fake-device-for-media-stream',
    `--use-file-for-fake-audio-capture=${speechWav}`,
  ]);
  expect((await call('POST', '/sessions', { json: { session_id: 'browser-s' } })).status).toBe(201);
  // The bar: the same speech uploaded as the WAV file it is.
  const wav = await call('POST', '/sessions/browser-s/audio_chunks', {
    body: readFileSync(speechWav),
    headers: { 'content-type': 'audio/wav' },
  });
  expect(wav.status).toBe(201);
  const transcript = await awaitTranscript('browser-s', wav.json.data.chunk_id);
  expect(transcript.status).toBe(200);
  wavRecall = recall(transcript.json.data.transcript);
  // A sanity floor: pocketsphinx finds most of these words in the clean recording.
  expect(wavRecall).toBeGreaterThan(0.5);
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => pageServer?.close(resolve));
  await target?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

const recordInBrowser = async (sessionId: string, mimeType: string) => {
  expect((await call('POST', '/sessions', { json: { session_id: sessionId } })).status).toBe(201);
  const page = await browser.newPage();
  try {
    await page.goto(`http://127.0.0.1:${(pageServer.address() as AddressInfo).port}/`);
    const millis = Math.ceil(wavSeconds(speechWav) * 1000) + 1500;
    return await page.evaluate((options) => (globalThis as any).recordAndUpload(options), {
      sessionId,
      speaker: 'candidate',
      mimeType,
      timeslice: TIMESLICE_MS,
      millis,
    });
  } finally {
    await page.close();
  }
};

describe('MediaRecorder timeslices uploaded from Chromium', () => {
  it.each([
    ['audio/webm;codecs=opus', 'browser-webm'],
    ['audio/mp4', 'browser-mp4'],
  ])('gives every %s timeslice blob a transcript as good as the WAV path', { timeout: 300_000 }, async (mimeType, sessionId) => {
    const { answers } = (await recordInBrowser(sessionId, mimeType)) as {
      answers: { status: number; size: number; body: { data: Record<string, any> } }[];
    };
    expect(answers.length).toBeGreaterThanOrEqual(4);
    // Chromium's MP4 starts with its init segment alone: stored as the track header, no chunk (202).
    const chunks = answers.filter((answer) => answer.status !== 202);
    for (const answer of answers) expect([201, 202]).toContain(answer.status);
    expect(answers.filter((answer) => answer.status === 202).length).toBeLessThanOrEqual(1);
    expect(chunks.map((answer) => answer.body.data.sequence)).toEqual(answers.map((_, i) => i).filter((i) => answers[i]!.status !== 202));
    const texts: string[] = [];
    for (const { body } of chunks) {
      expect(body.data).toMatchObject({ speaker: 'candidate', transcript_status: 'pending' });
      const transcript = await awaitTranscript(sessionId, body.data.chunk_id);
      expect(transcript.status, JSON.stringify(transcript.json)).toBe(200);
      expect(transcript.json.data.speaker).toBe('candidate');
      // Every full timeslice holds several words of speech; the last, cut by stop(), may be short.
      if (body.data.duration >= 2) expect(words(transcript.json.data.transcript).length).toBeGreaterThan(2);
      texts.push(transcript.json.data.transcript);
    }
    const browserRecall = recall(texts.join(' '));
    console.info(`${mimeType}: ${chunks.length} chunks, word recall ${browserRecall.toFixed(2)} (WAV path ${wavRecall.toFixed(2)})`);
    expect(browserRecall).toBeGreaterThanOrEqual(wavRecall - TOLERANCE);
  });
});

describe('files made by real encoders from the same speech', () => {
  it.each([
    ['ogg', 'audio/ogg;codecs=opus'],
    ['mp4', 'audio/mp4'],
    ['webm', 'audio/webm;codecs=opus'],
  ] as const)('transcribes %s about as well as the WAV', { timeout: 180_000 }, async (format, contentType) => {
    const uploaded = await call('POST', '/sessions/browser-s/audio_chunks?speaker=interviewer&started_at=0', {
      body: encodedSpeech(format, speechWav),
      headers: { 'content-type': contentType },
    });
    expect(uploaded.status).toBe(201);
    const transcript = await awaitTranscript('browser-s', uploaded.json.data.chunk_id);
    expect(transcript.status).toBe(200);
    const fileRecall = recall(transcript.json.data.transcript);
    console.info(`${format} file: word recall ${fileRecall.toFixed(2)} (WAV path ${wavRecall.toFixed(2)})`);
    expect(fileRecall).toBeGreaterThanOrEqual(wavRecall - TOLERANCE);
  });
});
