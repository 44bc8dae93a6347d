/**
 * The Amazon Transcribe Streaming adapter against aws-sdk-client-mock, with result events shaped as the
 * service documents them (TranscriptEvent → Transcript → Results → Alternatives → Items).
 */

import {
  type AudioStream,
  BadRequestException,
  LimitExceededException,
  ServiceUnavailableException,
  StartStreamTranscriptionCommand,
  type StartStreamTranscriptionCommandInput,
  TranscribeStreamingClient,
  type TranscriptResultStream,
} from '@aws-sdk/client-transcribe-streaming';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import wavefile from 'wavefile';
import { AwsTranscribeTranscriber, BURST_SECONDS, type Pacer } from '../../../functions/adapters/transcriber/aws-transcribe';
import { webmToOggOpus } from '../../../functions/adapters/transcriber/webm-to-ogg';
import { encodedSpeech, flacHeader, toneWav } from '../../support/audio-fixtures';
import { asyncRefusal } from '../../support/refusal';

const transcribeMock = mockClient(TranscribeStreamingClient);
const client = new TranscribeStreamingClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });

async function* eventsOf(...events: TranscriptResultStream[]): AsyncIterable<TranscriptResultStream> {
  yield* events;
}

const word = (content: string, start: number, end: number, confidence: number) => ({
  Content: content,
  StartTime: start,
  EndTime: end,
  Type: 'pronunciation' as const,
  Confidence: confidence,
  VocabularyFilterMatch: false,
  Stable: true,
});
const punctuation = (content: string, at: number) => ({
  Content: content,
  StartTime: at,
  EndTime: at,
  Type: 'punctuation' as const,
  Confidence: 0,
  VocabularyFilterMatch: false,
});

const transcriptEvent = (result: Record<string, unknown>): TranscriptResultStream => ({
  TranscriptEvent: { Transcript: { Results: [result] } },
});

const DOCUMENTED_EVENTS: TranscriptResultStream[] = [
  transcriptEvent({
    ResultId: 'r1',
    StartTime: 0.1,
    EndTime: 0.6,
    IsPartial: true,
    ChannelId: 'ch_0',
    Alternatives: [{ Transcript: 'Go for', Items: [word('Go', 0.1, 0.3, 0.5), word('for', 0.3, 0.6, 0.2)] }],
  }),
  transcriptEvent({
    ResultId: 'r1',
    StartTime: 0.1,
    EndTime: 1.4,
    IsPartial: false,
    ChannelId: 'ch_0',
    LanguageCode: 'en-US',
    Alternatives: [
      {
        Transcript: 'Go forward.',
        Items: [word('Go', 0.1, 0.3, 0.99), word('forward', 0.3, 1.4, 0.91), punctuation('.', 1.4)],
      },
    ],
  }),
  transcriptEvent({
    ResultId: 'r2',
    StartTime: 1.6,
    EndTime: 2.6,
    IsPartial: false,
    ChannelId: 'ch_0',
    LanguageCode: 'en-US',
    Alternatives: [
      { Transcript: 'Ten meters.', Items: [word('Ten', 1.6, 1.9, 0.8), word('meters', 1.9, 2.6, 0.7), punctuation('.', 2.6)] },
    ],
  }),
];

/** What the adapter sent: the request and every audio byte of its stream. */
const captured: { input?: StartStreamTranscriptionCommandInput; chunks: Uint8Array[] } = { chunks: [] };

const answerWith = (events: TranscriptResultStream[]) =>
  transcribeMock.on(StartStreamTranscriptionCommand).callsFake(async (input: StartStreamTranscriptionCommandInput) => {
    captured.input = input;
    for await (const event of input.AudioStream as AsyncIterable<AudioStream>) {
      if (event.AudioEvent?.AudioChunk) captured.chunks.push(event.AudioEvent.AudioChunk);
    }
    return { TranscriptResultStream: eventsOf(...events) };
  });

const stereoWav = (rate: number, seconds: number) => {
  const frames = Math.round(rate * seconds);
  const left = Array.from({ length: frames }, (_, i) => Math.round(6000 * Math.sin(i / 9)) + 0);
  const wave = new wavefile.WaveFile();
  wave.fromScratch(2, rate, '16', [left, left]);
  return { bytes: wave.toBuffer(), left };
};

beforeEach(() => {
  transcribeMock.reset();
  captured.input = undefined;
  captured.chunks = [];
});

afterEach(() => transcribeMock.reset());

/** Pacing has its own tests below; here the audio goes at once. */
const instantPacer: Pacer = { now: () => 0, sleep: async () => undefined };

describe('AwsTranscribeTranscriber', () => {
  it('streams WAV as 16-bit mono PCM at its own rate in 100 ms events and reads the final results', async () => {
    answerWith(DOCUMENTED_EVENTS);
    const { bytes, left } = stereoWav(44100, 0.35);
    const transcriber = new AwsTranscribeTranscriber({ languageCode: 'en-US', client });
    const result = await transcriber.transcribe({ bytes, format: 'wav', sampleRate: 44100, channels: 2, duration: 0.35 });

    expect(captured.input).toMatchObject({ MediaEncoding: 'pcm', MediaSampleRateHertz: 44100, LanguageCode: 'en-US' });
    expect(captured.input).not.toHaveProperty('IdentifyLanguage');
    expect(captured.chunks.map((chunk) => chunk.length)).toEqual([8820, 8820, 8820, 4410]);
    const sent = Buffer.concat(captured.chunks);
    const samples = Array.from({ length: sent.length / 2 }, (_, i) => sent.readInt16LE(i * 2));
    expect(samples).toEqual(left);

    expect(result.text).toBe('Go forward. Ten meters.');
    expect(result.words).toEqual([
      { word: 'Go', start: 0.1, end: 0.3, confidence: 0.99 },
      { word: 'forward', start: 0.3, end: 1.4, confidence: 0.91 },
      { word: 'Ten', start: 1.6, end: 1.9, confidence: 0.8 },
      { word: 'meters', start: 1.9, end: 2.6, confidence: 0.7 },
    ]);
    expect(result.confidence).toBeCloseTo((0.99 + 0.91 + 0.8 + 0.7) / 4, 10);
    expect(result.language).toBe('en-US');
    expect(result.duration).toBe(Math.round(44100 * 0.35) / 44100);
    expect(result.engine).toBe('aws-transcribe');
  });

  it('asks the service to identify the language when given options, and reports the one it found', async () => {
    answerWith([
      transcriptEvent({
        ResultId: 'r1',
        IsPartial: false,
        LanguageCode: 'es-US',
        LanguageIdentification: [
          { LanguageCode: 'es-US', Score: 0.93 },
          { LanguageCode: 'en-US', Score: 0.07 },
        ],
        Alternatives: [{ Transcript: 'Hola.', Items: [word('Hola', 0, 0.4, 0.95), punctuation('.', 0.4)] }],
      }),
    ]);
    const transcriber = new AwsTranscribeTranscriber({ languageCode: 'en-US', identifyLanguageOptions: ['en-US', 'es-US'], client });
    const result = await transcriber.transcribe({
      bytes: stereoWav(16000, 0.1).bytes,
      format: 'wav',
      sampleRate: 16000,
      channels: 2,
      duration: 0.1,
    });
    expect(captured.input).toMatchObject({ IdentifyLanguage: true, LanguageOptions: 'en-US,es-US' });
    expect(captured.input).not.toHaveProperty('LanguageCode');
    expect(result).toMatchObject({ text: 'Hola.', language: 'es-US', confidence: 0.95 });
  });

  it('sends FLAC as it is, with the rate and duration from the chunk', async () => {
    answerWith([]);
    const flac = flacHeader(48000, 1, 96000);
    const transcriber = new AwsTranscribeTranscriber({ languageCode: 'en-GB', client });
    const result = await transcriber.transcribe({ bytes: flac, format: 'flac', sampleRate: 48000, channels: 1, duration: 2 });
    expect(captured.input).toMatchObject({ MediaEncoding: 'flac', MediaSampleRateHertz: 48000, LanguageCode: 'en-GB' });
    expect(Buffer.concat(captured.chunks).equals(flac)).toBe(true);
    expect(result).toEqual({ text: '', confidence: 0, language: 'en-GB', duration: 2, words: [], engine: 'aws-transcribe' });
  });

  it('maps a refused request to invalid input', async () => {
    transcribeMock.on(StartStreamTranscriptionCommand).rejects(new BadRequestException({ message: 'bad audio', $metadata: {} }));
    const transcriber = new AwsTranscribeTranscriber({ languageCode: 'en-US', client });
    const failure = await asyncRefusal(
      transcriber.transcribe({ bytes: stereoWav(16000, 0.1).bytes, format: 'wav', sampleRate: 16000, channels: 2, duration: 0.1 }),
    );
    expect(failure.kind).toBe('invalid_input');
  });

  it('maps an exception inside the result stream to a 503', async () => {
    answerWith([
      DOCUMENTED_EVENTS[1]!,
      { ServiceUnavailableException: new ServiceUnavailableException({ message: 'try later', $metadata: {} }) },
    ]);
    const transcriber = new AwsTranscribeTranscriber({ languageCode: 'en-US', client });
    const failure = await asyncRefusal(
      transcriber.transcribe({ bytes: stereoWav(16000, 0.1).bytes, format: 'wav', sampleRate: 16000, channels: 2, duration: 0.1 }),
    );
    expect(failure.kind).toBe('dependency_unavailable');
  });

  it('refuses a WAV it cannot decode before calling the service', async () => {
    answerWith(DOCUMENTED_EVENTS);
    const transcriber = new AwsTranscribeTranscriber({ languageCode: 'en-US', client });
    const failure = await asyncRefusal(
      transcriber.transcribe({ bytes: new Uint8Array(10), format: 'wav', sampleRate: 16000, channels: 1, duration: 1 }),
    );
    expect(failure.kind).toBe('invalid_input');
    expect(transcribeMock.commandCalls(StartStreamTranscriptionCommand)).toHaveLength(0);
  });

  it('maps LimitExceededException (the concurrent-stream quota) to dependency_unavailable, which the caller retries', async () => {
    transcribeMock.on(StartStreamTranscriptionCommand).rejects(new LimitExceededException({ message: 'too many streams', $metadata: {} }));
    const transcriber = new AwsTranscribeTranscriber({ languageCode: 'en-US', client });
    const failure = await asyncRefusal(
      transcriber.transcribe({ bytes: stereoWav(16000, 0.1).bytes, format: 'wav', sampleRate: 16000, channels: 2, duration: 0.1 }),
    );
    expect(failure).toMatchObject({ kind: 'dependency_unavailable', message: 'Speech recognizer busy' });
    expect(failure.detail).toContain('concurrent streams');
  });

  it('accepts the formats Transcribe streams, WebM among them (remuxed), and not MP4', () => {
    expect(new AwsTranscribeTranscriber({ languageCode: 'en-US', client }).acceptedFormats).toEqual(['wav', 'flac', 'ogg', 'webm']);
  });

  it('streams WebM Opus as the Ogg Opus remux of its packets, at the rate the track declares', async () => {
    answerWith(DOCUMENTED_EVENTS);
    const webm = encodedSpeech('webm');
    const transcriber = new AwsTranscribeTranscriber({ languageCode: 'en-US', client, pacer: instantPacer });
    const result = await transcriber.transcribe({ bytes: webm, format: 'webm', sampleRate: 16000, channels: 1, duration: 1 });
    expect(captured.input).toMatchObject({ MediaEncoding: 'ogg-opus', MediaSampleRateHertz: 16000 });
    const sent = Buffer.concat(captured.chunks);
    expect(sent.equals(Buffer.from(webmToOggOpus(webm).bytes))).toBe(true);
    expect(sent.subarray(0, 4).toString()).toBe('OggS');
    expect(result.text).toBe('Go forward. Ten meters.');
  });

  it('refuses MP4 before calling the service: streaming cannot read it', async () => {
    answerWith(DOCUMENTED_EVENTS);
    const transcriber = new AwsTranscribeTranscriber({ languageCode: 'en-US', client });
    const failure = await asyncRefusal(
      transcriber.transcribe({ bytes: encodedSpeech('mp4'), format: 'mp4', sampleRate: 16000, channels: 1, duration: 1 }),
    );
    expect(failure.kind).toBe('invalid_input');
    expect(transcribeMock.commandCalls(StartStreamTranscriptionCommand)).toHaveLength(0);
  });
});

/** A clock that moves only when the adapter sleeps on it, so pacing is checked by counting, not timing. */
const fakePacer = () => {
  const state = { nowMs: 0, sleeps: 0 };
  const pacer: Pacer = {
    now: () => state.nowMs,
    sleep: async (ms) => {
      state.sleeps += 1;
      state.nowMs += ms;
    },
  };
  return { state, pacer };
};

/** Streams `bytes` and records, for each audio event, the audio seconds sent before it and the clock when it went. */
const pacedRun = async (audio: Parameters<AwsTranscribeTranscriber['transcribe']>[0], secondsOf: (chunk: Uint8Array) => number) => {
  const { state, pacer } = fakePacer();
  const sends: { sentBefore: number; atSeconds: number; seconds: number }[] = [];
  transcribeMock.on(StartStreamTranscriptionCommand).callsFake(async (input: StartStreamTranscriptionCommandInput) => {
    let sent = 0;
    for await (const event of input.AudioStream as AsyncIterable<AudioStream>) {
      const chunk = event.AudioEvent!.AudioChunk!;
      sends.push({ sentBefore: sent, atSeconds: state.nowMs / 1000, seconds: secondsOf(chunk) });
      sent += secondsOf(chunk);
    }
    return { TranscriptResultStream: eventsOf() };
  });
  await new AwsTranscribeTranscriber({ languageCode: 'en-US', client, pacer }).transcribe(audio);
  return { sends, state };
};

describe('AwsTranscribeTranscriber pacing (issue #15, defect 4)', () => {
  it('sends WAV in 100 ms events, never more than the burst allowance ahead of real time', async () => {
    const seconds = 12;
    const { sends, state } = await pacedRun(
      { bytes: toneWav({ sampleRate: 8000, seconds }), format: 'wav', sampleRate: 8000, channels: 1, duration: seconds },
      (chunk) => chunk.length / 2 / 8000,
    );
    expect(sends).toHaveLength(seconds * 10);
    for (const send of sends) {
      expect(send.seconds).toBeCloseTo(0.1, 10);
      expect(send.sentBefore).toBeLessThanOrEqual(send.atSeconds + BURST_SECONDS + 1e-3);
    }
    // The first burst goes at once; the rest waits for the clock, one event at a time.
    expect(sends.filter((send) => send.atSeconds === 0)).toHaveLength(BURST_SECONDS * 10 + 1);
    expect(state.sleeps).toBe(sends.length - (BURST_SECONDS * 10 + 1));
    expect(sends.at(-1)!.atSeconds).toBeCloseTo(seconds - 0.1 - BURST_SECONDS, 6);
  });

  it('paces encoded audio by its mean byte rate over the probed duration', async () => {
    const seconds = 30;
    const flac = Buffer.concat([flacHeader(16000, 1, 16000 * seconds), Buffer.alloc(300_000 - 42, 1)]);
    const { sends } = await pacedRun(
      { bytes: flac, format: 'flac', sampleRate: 16000, channels: 1, duration: seconds },
      (chunk) => (chunk.length / flac.length) * seconds,
    );
    expect(sends.length).toBeGreaterThan(100);
    for (const send of sends) expect(send.sentBefore).toBeLessThanOrEqual(send.atSeconds + BURST_SECONDS + 1e-3);
    expect(sends.at(-1)!.atSeconds).toBeGreaterThan(seconds - BURST_SECONDS - 0.5);
  });
});
