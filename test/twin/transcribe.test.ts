/**
 * The Transcribe Streaming stand-in, driven by the real TranscribeStreamingClient over HTTP/2 with real
 * speech from pocketsphinx's test recordings, recognized by the real pocketsphinx behind the server.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  type AudioStream,
  type MediaEncoding,
  type Result,
  StartStreamTranscriptionCommand,
  type StartStreamTranscriptionCommandInput,
  TranscribeStreamingClient,
} from '@aws-sdk/client-transcribe-streaming';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsTranscribeTranscriber } from '../../functions/adapters/transcriber/aws-transcribe';
import { PocketsphinxTranscriber } from '../../functions/adapters/transcriber/pocketsphinx';
import { verifySigV4 } from '../../twin/iam/sigv4';
import { pocketsphinxRecognizer, type SpeechRecognizer } from '../../twin/transcribe/recognizer';
import {
  type GateAnswer,
  type SignedRequest,
  startTranscribeStreaming,
  type TranscribeGate,
  type TranscribeStreamingServer,
} from '../../twin/transcribe/server';
import { POCKETSPHINX_TEST_DATA, realWav } from '../support/audio-fixtures';

const CLIP = 'librivox/sense_and_sensibility_01_austen_64kb-0880.wav';
const SHORT_CLIP = 'cards/001.wav';
const SAMPLE_RATE = 16000;
const FAST_PACE = 4;

const allowAll: TranscribeGate = { authorize: async () => ({ allowed: true, principal: 'test-role' }) };

/** The PCM of a canonical 16-bit mono WAV: the bytes of its data chunk. */
const pcmOf = (wav: Buffer): Buffer => {
  for (let at = 12; at + 8 <= wav.length; ) {
    const id = wav.toString('ascii', at, at + 4);
    const size = wav.readUInt32LE(at + 4);
    if (id === 'data') return wav.subarray(at + 8, at + 8 + size);
    at += 8 + size + (size % 2);
  }
  throw new Error('no data chunk');
};

async function* chunked(bytes: Uint8Array, size: number): AsyncIterable<AudioStream> {
  for (let at = 0; at < bytes.length; at += size)
    yield { AudioEvent: { AudioChunk: bytes.subarray(at, Math.min(bytes.length, at + size)) } };
}

const clientFor = (server: { url: string }) =>
  new TranscribeStreamingClient({
    region: 'us-east-1',
    endpoint: server.url,
    credentials: { accessKeyId: 'AKIDTWINTEST', secretAccessKey: 'twin-test-secret' },
  });

/** 100 ms of 16 kHz 16-bit audio per event, as the service recommends. */
const PCM_EVENT_BYTES = SAMPLE_RATE * 0.1 * 2;

interface Timed {
  result: Result;
  /** performance.now() when the client read it. */
  at: number;
}

/** Streams audio and collects every final result with the time it arrived. */
const stream = async (
  client: TranscribeStreamingClient,
  audio: AsyncIterable<AudioStream>,
  input: Partial<StartStreamTranscriptionCommandInput> = {},
): Promise<{
  finals: Timed[];
  partials: Timed[];
  events: number;
  startedAt: number;
  endedAt: number;
  headers: Record<string, unknown>;
}> => {
  const startedAt = performance.now();
  const response = await client.send(
    new StartStreamTranscriptionCommand({
      LanguageCode: 'en-US',
      MediaEncoding: 'pcm',
      MediaSampleRateHertz: SAMPLE_RATE,
      AudioStream: audio,
      ...input,
    }),
  );
  const finals: Timed[] = [];
  const partials: Timed[] = [];
  let events = 0;
  for await (const event of response.TranscriptResultStream!) {
    events++;
    for (const result of event.TranscriptEvent?.Transcript?.Results ?? [])
      (result.IsPartial ? partials : finals).push({ result, at: performance.now() });
  }
  const { TranscriptResultStream: _, $metadata: __, ...headers } = response;
  return { finals, partials, events, startedAt, endedAt: performance.now(), headers };
};

const pronounced = (finals: Timed[]) =>
  finals.flatMap(({ result }) => (result.Alternatives?.[0]?.Items ?? []).filter((item) => item.Type === 'pronunciation'));

const wordsOf = (finals: Timed[]) => pronounced(finals).map((item) => item.Content!.toLowerCase());

/** How many of `expected` appear in `actual`, each occurrence used once. */
const sharedWords = (expected: string[], actual: string[]) => {
  const left = [...actual];
  return expected.filter((word) => {
    const at = left.indexOf(word);
    if (at >= 0) left.splice(at, 1);
    return at >= 0;
  }).length;
};

const rejection = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (error) {
    return error as Error & { $metadata?: { httpStatusCode?: number } };
  }
  throw new Error('expected a rejection');
};

/** One warm pocketsphinx shared by the servers each test starts; the real-time server starts its own (the default). */
let shared: SpeechRecognizer;
let realTime: TranscribeStreamingServer;
let fast: TranscribeStreamingServer;
let referenceWords: string[];
let clipSeconds: number;
let work: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'twin-transcribe-test-'));
  const reference = new PocketsphinxTranscriber({ logger: { debug() {}, info() {}, warn() {}, error() {} } });
  const transcription = await reference.transcribe({
    bytes: realWav(CLIP),
    format: 'wav',
    sampleRate: SAMPLE_RATE,
    channels: 1,
    duration: 0,
  });
  await reference.close();
  referenceWords = transcription.words.map((word) => word.word);
  clipSeconds = pcmOf(realWav(CLIP)).length / 2 / SAMPLE_RATE;
  shared = pocketsphinxRecognizer();
  [realTime, fast] = await Promise.all([
    startTranscribeStreaming({ gate: allowAll }),
    startTranscribeStreaming({ gate: allowAll, pace: FAST_PACE, recognizer: shared }),
  ]);
});

afterAll(async () => {
  await Promise.all([realTime?.close(), fast?.close()]);
  await shared?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('Transcribe Streaming twin', () => {
  it('transcribes 16 kHz PCM sent in 100 ms events into final results, no faster than the audio plays', async () => {
    expect(referenceWords.length).toBeGreaterThan(3);
    const client = clientFor(realTime);
    const { finals, partials, startedAt, headers } = await stream(client, chunked(pcmOf(realWav(CLIP)), PCM_EVENT_BYTES));
    client.destroy();

    expect(finals.length).toBeGreaterThan(0);
    expect(wordsOf(finals)).toEqual(referenceWords);
    expect(headers).toMatchObject({ LanguageCode: 'en-US', MediaEncoding: 'pcm', MediaSampleRateHertz: SAMPLE_RATE });
    expect(headers.RequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(headers.SessionId).toMatch(/^[0-9a-f-]{36}$/);
    const items = pronounced(finals);
    for (const [index, item] of items.entries()) {
      expect(item.EndTime!).toBeGreaterThan(item.StartTime!);
      expect(item.Confidence!).toBeGreaterThanOrEqual(0);
      expect(item.Confidence!).toBeLessThanOrEqual(1);
      if (index > 0) expect(item.StartTime!).toBeGreaterThanOrEqual(items[index - 1]!.EndTime!);
    }
    expect(items.at(-1)!.EndTime!).toBeLessThanOrEqual(clipSeconds);
    // The service's shape: a capitalized, punctuated transcript with a punctuation item.
    const alternative = finals[0]!.result.Alternatives![0]!;
    expect(alternative.Transcript).toMatch(/^[A-Z].*\.$/);
    expect(alternative.Items!.at(-1)).toMatchObject({ Type: 'punctuation', Content: '.' });
    // A partial result comes first, under the final's ResultId, with the first of its words.
    expect(partials.length).toBeGreaterThan(0);
    for (const partial of partials) {
      const final = finals.find(({ result }) => result.ResultId === partial.result.ResultId)!;
      expect(final).toBeDefined();
      expect(partial.at).toBeLessThanOrEqual(final.at);
      const partialWords = wordsOf([partial]);
      expect(partialWords.length).toBeGreaterThan(0);
      expect(wordsOf([final]).slice(0, partialWords.length)).toEqual(partialWords);
    }
    // Pacing: every result comes no sooner than its audio would have played, the last not before the clip's length.
    for (const { result, at } of [...partials, ...finals]) expect(at - startedAt).toBeGreaterThanOrEqual(result.EndTime! * 1000);
    expect(finals.at(-1)!.result.EndTime!).toBeCloseTo(clipSeconds, 2);
    expect(finals.at(-1)!.at - startedAt).toBeGreaterThanOrEqual(clipSeconds * 1000);
  });

  it('decodes Ogg Opus and FLAC made from the same speech', async () => {
    const wavPath = join(POCKETSPHINX_TEST_DATA, CLIP);
    const opus = join(work, 'clip.opus');
    const flac = join(work, 'clip.flac');
    execFileSync('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-i',
      wavPath,
      '-c:a',
      'libopus',
      '-b:a',
      '48k',
      '-f',
      'ogg',
      opus,
    ]);
    execFileSync('sox', [wavPath, flac]);
    const client = clientFor(fast);
    const fromOpus = await stream(client, chunked(readFileSync(opus), 8 * 1024), { MediaEncoding: 'ogg-opus' as MediaEncoding });
    const fromFlac = await stream(client, chunked(readFileSync(flac), 8 * 1024), { MediaEncoding: 'flac' as MediaEncoding });
    client.destroy();

    // FLAC is lossless: the same samples, the same words. Opus is lossy: most of the words.
    expect(wordsOf(fromFlac.finals)).toEqual(referenceWords);
    const opusWords = wordsOf(fromOpus.finals);
    expect(sharedWords(referenceWords, opusWords)).toBeGreaterThanOrEqual(Math.ceil(referenceWords.length * 0.6));
    for (const { result, at } of fromOpus.finals)
      expect(at - fromOpus.startedAt).toBeGreaterThanOrEqual((result.EndTime! * 1000) / FAST_PACE);
  });

  it('closes a final result at each pause, with times counted from the start of the stream', async () => {
    const second = 'librivox/sense_and_sensibility_01_austen_64kb-0930.wav';
    const pause = 1.5;
    // A quiet room rather than digital silence: low noise from a fixed seed.
    const gap = Buffer.alloc(SAMPLE_RATE * pause * 2);
    let seed = 7;
    for (let at = 0; at < gap.length; at += 2) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      gap.writeInt16LE((seed % 9) - 4, at);
    }
    const audio = Buffer.concat([pcmOf(realWav(CLIP)), gap, pcmOf(realWav(second))]);
    const client = clientFor(fast);
    const { finals, startedAt } = await stream(client, chunked(audio, PCM_EVENT_BYTES));
    client.destroy();

    expect(finals).toHaveLength(2);
    const [first, last] = finals.map(({ result }) => result);
    expect(first!.EndTime!).toBeGreaterThan(clipSeconds);
    expect(first!.EndTime!).toBeLessThan(clipSeconds + pause);
    expect(last!.StartTime!).toBe(first!.EndTime!);
    expect(last!.EndTime!).toBeCloseTo(audio.length / 2 / SAMPLE_RATE, 2);
    expect(new Set(finals.map(({ result }) => result.ResultId)).size).toBe(2);
    const [firstWords, lastWords] = finals.map((timed) => wordsOf([timed]));
    // Each utterance is recognized on its own with its pause, which moves pocketsphinx off a few of the clip's words.
    expect(sharedWords(referenceWords, firstWords!)).toBeGreaterThanOrEqual(Math.ceil(referenceWords.length * 0.6));
    const secondSaid = 'he might even have been made amiable himself'.split(' ');
    expect(sharedWords(secondSaid, lastWords!)).toBeGreaterThanOrEqual(5);
    const secondItems = pronounced([finals[1]!]);
    expect(secondItems[0]!.StartTime!).toBeGreaterThan(clipSeconds + pause - 0.5);
    for (const { result, at } of finals) expect(at - startedAt).toBeGreaterThanOrEqual((result.EndTime! * 1000) / FAST_PACE);
  });

  it('keeps concurrent streams apart: each gets the words of its own audio', async () => {
    const clips = ['cards/001.wav', 'cards/005.wav', 'librivox/sense_and_sensibility_01_austen_64kb-0930.wav'];
    const expected = await Promise.all(
      clips.map((clip) => shared.recognize(new Int16Array(new Uint8Array(pcmOf(realWav(clip))).buffer), SAMPLE_RATE)),
    );
    const client = clientFor(fast);
    const outcomes = await Promise.all(clips.map((clip) => stream(client, chunked(pcmOf(realWav(clip)), PCM_EVENT_BYTES))));
    client.destroy();
    expect(outcomes.map(({ finals }) => wordsOf(finals))).toEqual(expected.map((words) => words.map((word) => word.word)));
    expect(new Set(outcomes.map(({ headers }) => headers.SessionId)).size).toBe(clips.length);
  });

  it('answers an empty stream with a transcript that has no results', async () => {
    const client = clientFor(fast);
    const { finals, events } = await stream(client, chunked(new Uint8Array(0), 1));
    client.destroy();
    expect(events).toBeGreaterThan(0);
    expect(finals).toEqual([]);
  });

  it('refuses a sample rate outside 8000-48000 Hz and an unknown media encoding with BadRequestException', async () => {
    const client = clientFor(fast);
    const badRate = await rejection(stream(client, chunked(new Uint8Array(3200), 3200), { MediaSampleRateHertz: 96000 }));
    const badEncoding = await rejection(stream(client, chunked(new Uint8Array(3200), 3200), { MediaEncoding: 'mp3' as MediaEncoding }));
    client.destroy();
    expect(badRate.name).toBe('BadRequestException');
    expect(badRate.$metadata?.httpStatusCode).toBe(400);
    expect(badRate.message).toBe(
      "1 validation error detected: Value '96000' at 'mediaSampleRateHertz' failed to satisfy constraint: Member must have value less than or equal to 48000",
    );
    expect(badEncoding.name).toBe('BadRequestException');
    expect(badEncoding.message).toContain("Value 'mp3' at 'mediaEncoding' failed to satisfy constraint");
  });

  it('identifies the language among the options given, on the response and on each result', async () => {
    const client = clientFor(fast);
    const { finals, headers } = await stream(client, chunked(pcmOf(realWav(SHORT_CLIP)), PCM_EVENT_BYTES), {
      LanguageCode: undefined,
      IdentifyLanguage: true,
      LanguageOptions: 'es-US,en-US',
    });
    client.destroy();
    expect(headers).toMatchObject({ IdentifyLanguage: true, LanguageOptions: 'es-US,en-US' });
    expect(finals.length).toBeGreaterThan(0);
    for (const { result } of finals) {
      expect(result.LanguageCode).toBe('en-US');
      expect(result.LanguageIdentification?.map((entry) => entry.LanguageCode).sort()).toEqual(['en-US', 'es-US']);
    }
  });

  it('ends a stream that sends no audio for the idle timeout with BadRequestException, freeing its slot', async () => {
    const idle = await startTranscribeStreaming({ gate: allowAll, idleTimeoutSeconds: 0.3, pace: FAST_PACE, recognizer: shared });
    const client = clientFor(idle);
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => {
      stop = resolve;
    });
    async function* stalls(): AsyncIterable<AudioStream> {
      yield { AudioEvent: { AudioChunk: new Uint8Array(PCM_EVENT_BYTES) } };
      await stopped;
    }
    try {
      const error = await rejection(stream(client, stalls()));
      expect(error.name).toBe('BadRequestException');
      expect(error.message).toBe('Your request timed out because no new audio was received for 0.3 seconds.');
      expect(idle.activeStreams()).toBe(0);
      expect(idle.calls()[0]).toMatchObject({ status: 200, error: 'BadRequestException', done: false });
    } finally {
      stop();
      client.destroy();
      await idle.close();
    }
  });

  it('frees the slot of a stream the client abandons', async () => {
    const server = await startTranscribeStreaming({ gate: allowAll, pace: FAST_PACE, recognizer: shared });
    const client = clientFor(server);
    const abort = new AbortController();
    async function* endless(): AsyncIterable<AudioStream> {
      for (;;) {
        yield { AudioEvent: { AudioChunk: new Uint8Array(PCM_EVENT_BYTES) } };
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    try {
      const response = await client.send(
        new StartStreamTranscriptionCommand({
          LanguageCode: 'en-US',
          MediaEncoding: 'pcm',
          MediaSampleRateHertz: SAMPLE_RATE,
          AudioStream: endless(),
        }),
        { abortSignal: abort.signal },
      );
      expect(response.TranscriptResultStream).toBeDefined();
      expect(server.activeStreams()).toBe(1);
      abort.abort();
      client.destroy();
      while (server.activeStreams() > 0) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(server.calls()[0]!.audioBytes).toBeGreaterThan(0);
      expect(server.calls()[0]!.done).toBe(false);
    } finally {
      client.destroy();
      await server.close();
    }
  });

  it('refuses the stream over the quota with LimitExceededException and takes new ones once streams end', async () => {
    const limited = await startTranscribeStreaming({ gate: allowAll, maxConcurrentStreams: 2, pace: FAST_PACE, recognizer: shared });
    const client = clientFor(limited);
    try {
      let release!: () => void;
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      async function* held(): AsyncIterable<AudioStream> {
        yield { AudioEvent: { AudioChunk: new Uint8Array(PCM_EVENT_BYTES) } };
        await released;
      }
      const open = [stream(client, held()), stream(client, held())];
      while (limited.activeStreams() < 2) await new Promise((resolve) => setTimeout(resolve, 20));

      const refused = await rejection(stream(client, chunked(pcmOf(realWav(SHORT_CLIP)), PCM_EVENT_BYTES)));
      expect(refused.name).toBe('LimitExceededException');
      expect(refused.$metadata?.httpStatusCode).toBe(429);
      expect(limited.activeStreams()).toBe(2);

      release();
      const finished = await Promise.all(open);
      expect(finished.map((done) => done.finals)).toEqual([[], []]);
      expect(limited.activeStreams()).toBe(0);
      const after = await stream(client, chunked(pcmOf(realWav(SHORT_CLIP)), PCM_EVENT_BYTES));
      expect(wordsOf(after.finals).length).toBeGreaterThan(0);
      expect(limited.calls().filter((call) => call.error === 'LimitExceededException').length).toBeGreaterThan(0);
    } finally {
      client.destroy();
      await limited.close();
    }
  });

  it('takes a quota change at run time: 0 refuses every new stream, a quota again takes them', async () => {
    const limited = await startTranscribeStreaming({ gate: allowAll, pace: FAST_PACE, recognizer: shared });
    const client = clientFor(limited);
    try {
      limited.setStreamQuota(0);
      const refused = await rejection(stream(client, chunked(pcmOf(realWav(SHORT_CLIP)), PCM_EVENT_BYTES)));
      expect(refused.name).toBe('LimitExceededException');
      expect(() => limited.setStreamQuota(-1)).toThrow(RangeError);
      limited.setStreamQuota(1);
      const after = await stream(client, chunked(pcmOf(realWav(SHORT_CLIP)), PCM_EVENT_BYTES));
      expect(wordsOf(after.finals).length).toBeGreaterThan(0);
    } finally {
      client.destroy();
      await limited.close();
    }
  });

  it('hands the gate the signed request and answers its refusal with AccessDeniedException', async () => {
    const seen: { service: string; request: SignedRequest; actions: string[] }[] = [];
    const denyAll: TranscribeGate = {
      authorize: async (service, request, checks): Promise<GateAnswer> => {
        seen.push({ service, request, actions: checks.map((check) => `${check.action} ${check.resource}`) });
        return {
          allowed: false,
          status: 403,
          code: 'AccessDeniedException',
          message: 'User: test-role is not authorized to perform: transcribe:StartStreamTranscription',
          reason: 'policy',
        };
      },
    };
    const denied = await startTranscribeStreaming({
      gate: denyAll,
      recognizer: { recognize: async () => [], close: async () => undefined },
    });
    const client = clientFor(denied);
    try {
      const error = await rejection(stream(client, chunked(pcmOf(realWav(SHORT_CLIP)), PCM_EVENT_BYTES)));
      expect(error.name).toBe('AccessDeniedException');
      expect(error.$metadata?.httpStatusCode).toBe(403);
      expect(error.message).toContain('not authorized to perform: transcribe:StartStreamTranscription');
      expect(seen[0]).toMatchObject({ service: 'transcribe', request: { method: 'POST', path: '/stream-transcription' } });
      expect(seen[0]!.actions).toEqual(['transcribe:StartStreamTranscription *']);
      expect(String(seen[0]!.request.headers.authorization)).toMatch(
        /^AWS4-HMAC-SHA256 Credential=AKIDTWINTEST\/\d{8}\/us-east-1\/transcribe\/aws4_request/,
      );
      // HTTP/2: the SDK signs :authority where HTTP/1.1 signs host, and the gate must see it to verify.
      expect(String(seen[0]!.request.headers.authorization)).toContain('SignedHeaders=:authority;');
      expect(seen[0]!.request.headers[':authority']).toBe(new URL(denied.url).host);
      expect(denied.activeStreams()).toBe(0);
    } finally {
      client.destroy();
      await denied.close();
    }
  });

  it('shows the gate a request whose SDK signature twin/iam/sigv4 verifies, and a wrong secret fails it', async () => {
    const verifying: TranscribeGate = {
      authorize: async (service, request): Promise<GateAnswer> => {
        const verdict = verifySigV4(request, {
          service,
          region: 'us-east-1',
          secretOf: (key) => (key === 'AKIDTWINTEST' ? { secretAccessKey: 'twin-test-secret' } : undefined),
        });
        return verdict.ok
          ? { allowed: true, principal: 'signed-role' }
          : { allowed: false, status: 403, code: 'InvalidSignatureException', message: verdict.reason, reason: verdict.failure };
      },
    };
    const signed = await startTranscribeStreaming({ gate: verifying, pace: FAST_PACE, recognizer: shared });
    const client = clientFor(signed);
    const forger = new TranscribeStreamingClient({
      region: 'us-east-1',
      endpoint: signed.url,
      credentials: { accessKeyId: 'AKIDTWINTEST', secretAccessKey: 'not-the-secret' },
    });
    try {
      const { finals } = await stream(client, chunked(pcmOf(realWav(SHORT_CLIP)), PCM_EVENT_BYTES));
      expect(wordsOf(finals).length).toBeGreaterThan(0);
      expect(signed.calls()[0]).toMatchObject({ principal: 'signed-role', status: 200 });
      const forged = await rejection(stream(forger, chunked(pcmOf(realWav(SHORT_CLIP)), PCM_EVENT_BYTES)));
      expect(forged.name).toBe('InvalidSignatureException');
      expect(forged.$metadata?.httpStatusCode).toBe(403);
    } finally {
      client.destroy();
      forger.destroy();
      await signed.close();
    }
  });

  it("serves the project's AWS Transcribe adapter end to end, pointed at it through AWS_ENDPOINT_URL_TRANSCRIBE_STREAMING", async () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_TRANSCRIBE_STREAMING: fast.url,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIDTWINTEST',
      AWS_SECRET_ACCESS_KEY: 'twin-test-secret',
    });
    delete process.env.AWS_PROFILE;
    delete process.env.AWS_SESSION_TOKEN;
    const adapter = new AwsTranscribeTranscriber({ languageCode: 'en-US' });
    const before = fast.calls().length;
    try {
      const transcription = await adapter.transcribe({
        bytes: realWav(CLIP),
        format: 'wav',
        sampleRate: SAMPLE_RATE,
        channels: 1,
        duration: clipSeconds,
      });
      expect(transcription.engine).toBe('aws-transcribe');
      expect(transcription.language).toBe('en-US');
      expect(transcription.words.map((word) => word.word.toLowerCase())).toEqual(referenceWords);
      expect(transcription.text.toLowerCase().replace(/[^a-z' ]/g, '')).toBe(referenceWords.join(' '));
      expect(transcription.confidence).toBeGreaterThan(0);
      const served = fast.calls().slice(before);
      expect(served).toHaveLength(1);
      expect(served[0]).toMatchObject({ status: 200, mediaEncoding: 'pcm', sampleRate: SAMPLE_RATE, done: true });
    } finally {
      await adapter.close();
      process.env = saved;
    }
  });
});
