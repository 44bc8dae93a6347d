/**
 * The Transcribe Streaming twin on the wire, without the SDK: a plain node:http2 client sends event
 * stream bytes cut at awkward places and reads the response frames with @smithy/eventstream-codec.
 */
import http2 from 'node:http2';
import { EventStreamCodec, type Message } from '@smithy/eventstream-codec';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeAudioEvent } from '../../twin/transcribe/event-stream';
import { startTranscribeStreaming, type TranscribeStreamingServer } from '../../twin/transcribe/server';
import { realWav } from '../support/audio-fixtures';

const codec = new EventStreamCodec(
  (bytes) => Buffer.from(bytes).toString('utf8'),
  (text) => Buffer.from(text, 'utf8'),
);

const PACE = 8;
let server: TranscribeStreamingServer;

beforeAll(async () => {
  server = await startTranscribeStreaming({ gate: { authorize: async () => ({ allowed: true, principal: 'wire' }) }, pace: PACE });
});
afterAll(async () => {
  await server?.close();
});

const STREAM_HEADERS = {
  'x-amzn-transcribe-language-code': 'en-US',
  'x-amzn-transcribe-sample-rate': '16000',
  'x-amzn-transcribe-media-encoding': 'pcm',
  'content-type': 'application/vnd.amazon.eventstream',
};

/** Sends `body` in pieces of `piece` bytes and returns the response's headers and decoded messages. */
const exchange = async (path: string, headers: Record<string, string>, body: Uint8Array, piece: number) => {
  const session = http2.connect(server.url);
  try {
    const request = session.request({ ':method': 'POST', ':path': path, ...headers });
    const responded = new Promise<http2.IncomingHttpHeaders>((resolve) => request.once('response', resolve));
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    const ended = new Promise<void>((resolve, reject) => {
      request.once('end', resolve);
      request.once('error', reject);
    });
    for (let at = 0; at < body.length; at += piece) request.write(body.subarray(at, Math.min(body.length, at + piece)));
    request.end();
    const responseHeaders = await responded;
    await ended;
    const bytes = Buffer.concat(chunks);
    const messages: Message[] = [];
    const eventStream = responseHeaders['content-type'] === 'application/vnd.amazon.eventstream';
    for (let at = 0; eventStream && at < bytes.length; ) {
      const length = bytes.readUInt32BE(at);
      messages.push(codec.decode(bytes.subarray(at, at + length)));
      at += length;
    }
    return { headers: responseHeaders, messages, bytes };
  } finally {
    session.close();
  }
};

const header = (message: Message, name: string) => message.headers[name]?.value;
const json = (message: Message) => JSON.parse(Buffer.from(message.body).toString('utf8'));

describe('Transcribe Streaming twin on the wire', () => {
  it('reads unsigned AudioEvents cut into 7-byte writes and answers in event stream frames', async () => {
    const wav = realWav('cards/001.wav');
    const pcm = wav.subarray(44);
    const events: Uint8Array[] = [];
    for (let at = 0; at < pcm.length; at += 3200) events.push(encodeAudioEvent(pcm.subarray(at, at + 3200)));
    events.push(encodeAudioEvent(new Uint8Array(0)));
    const { headers, messages } = await exchange(
      '/stream-transcription',
      { ...STREAM_HEADERS, 'x-amzn-transcribe-session-id': '3f4c1f0e-8f5e-4a8e-9d0b-0a1b2c3d4e5f' },
      Buffer.concat(events),
      7,
    );

    expect(headers[':status']).toBe(200);
    expect(headers['content-type']).toBe('application/vnd.amazon.eventstream');
    expect(headers['x-amzn-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(headers['x-amzn-transcribe-session-id']).toBe('3f4c1f0e-8f5e-4a8e-9d0b-0a1b2c3d4e5f');
    expect(headers['x-amzn-transcribe-sample-rate']).toBe('16000');
    expect(headers['x-amzn-transcribe-language-code']).toBe('en-US');
    for (const message of messages) {
      expect(header(message, ':message-type')).toBe('event');
      expect(header(message, ':event-type')).toBe('TranscriptEvent');
      expect(header(message, ':content-type')).toBe('application/json');
    }
    const results = messages.flatMap(
      (message) => json(message).Transcript.Results as { IsPartial: boolean; Alternatives: { Transcript: string }[] }[],
    );
    const finals = results.filter((result) => !result.IsPartial);
    expect(finals).toHaveLength(1);
    expect(finals[0]!.Alternatives[0]!.Transcript.toLowerCase()).toContain('clubs');
  });

  it('ends the response with a BadRequestException frame when the body is not an event stream', async () => {
    const garbage = Buffer.alloc(64, 0xff);
    const { headers, messages } = await exchange('/stream-transcription', STREAM_HEADERS, garbage, 64);
    expect(headers[':status']).toBe(200);
    const last = messages.at(-1)!;
    expect(header(last, ':message-type')).toBe('exception');
    expect(header(last, ':exception-type')).toBe('BadRequestException');
    expect(json(last).Message).toMatch(/audio stream/);
  });

  it('answers a missing sample rate or a session id that is not a UUID with a 400 naming the field, an unknown path with a 404', async () => {
    const { 'x-amzn-transcribe-sample-rate': _, ...withoutRate } = STREAM_HEADERS;
    const missing = await exchange('/stream-transcription', withoutRate, new Uint8Array(0), 1);
    expect(missing.headers[':status']).toBe(400);
    expect(missing.headers['x-amzn-errortype']).toBe('BadRequestException');
    expect(JSON.parse(missing.bytes.toString('utf8')).Message).toBe(
      "1 validation error detected: Value null at 'mediaSampleRateHertz' failed to satisfy constraint: Member must not be null",
    );
    const badSession = await exchange(
      '/stream-transcription',
      { ...STREAM_HEADERS, 'x-amzn-transcribe-session-id': 'session-1' },
      new Uint8Array(0),
      1,
    );
    expect(badSession.headers[':status']).toBe(400);
    expect(JSON.parse(badSession.bytes.toString('utf8')).Message).toContain(
      "Value 'session-1' at 'sessionId' failed to satisfy constraint",
    );
    const unknown = await exchange('/medical-stream-transcription', STREAM_HEADERS, new Uint8Array(0), 1);
    expect(unknown.headers[':status']).toBe(404);
  });
});
