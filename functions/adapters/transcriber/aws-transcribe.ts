/**
 * The recognizer on AWS: Amazon Transcribe Streaming. WAV chunks are sent as what the service reads,
 * 16-bit little-endian mono PCM at the chunk's own sample rate (no resampling: Transcribe takes 8-48 kHz);
 * FLAC and Ogg Opus go as they are; WebM Opus is remuxed to Ogg Opus (webm-to-ogg.ts). Audio is paced at real time after a short burst, as the service
 * expects of a live stream. The text is the final results' transcripts; confidence and word timings come
 * from their pronunciation items.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type AudioStream,
  BadRequestException,
  type LanguageCode,
  type MediaEncoding,
  type Result,
  StartStreamTranscriptionCommand,
  TranscribeStreamingClient,
  type TranscriptResultStream,
} from '@aws-sdk/client-transcribe-streaming';
import type { AudioFormat } from '../../core/audio/probe';
import { dependencyUnavailable, invalidInput } from '../../core/errors';
import {
  type AudioForTranscription,
  meanConfidence,
  type Transcriber,
  type Transcription,
  type WordTiming,
} from '../../core/ports/transcriber';
import { AWS_TRANSCRIBE_ENGINE, AWS_TRANSCRIBE_FORMATS } from './aws-transcribe-identity';
import { int16LittleEndianBytes, wavToPcm16Mono } from './pcm';
import { webmToOggOpus } from './webm-to-ogg';

export interface AwsTranscribeOptions {
  /** Used unless `identifyLanguageOptions` is set. */
  languageCode: string;
  /** Two or more language codes: Transcribe identifies which one is spoken. */
  identifyLanguageOptions?: readonly string[];
  client?: TranscribeStreamingClient;
  /** The clock the audio is paced by; tests pass a fake one. */
  pacer?: Pacer;
}

/** Milliseconds on a monotonic clock, and a wait on the same clock. */
export interface Pacer {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realTimePacer: Pacer = { now: () => performance.now(), sleep: (ms) => sleep(ms) };

/**
 * Audio sent ahead of real time: Transcribe Streaming decodes at about real time, so pre-recorded audio
 * sent faster piles up in the service and fails the stream. A couple of seconds let results start at once.
 */
export const BURST_SECONDS = 2;

/** 100 ms of audio per event: inside the 50-200 ms the service recommends. */
const EVENT_SECONDS = 0.1;
/** Encoded audio is split by its mean byte rate into about EVENT_SECONDS, within these sizes. */
const MIN_ENCODED_EVENT_BYTES = 1024;
const MAX_ENCODED_EVENT_BYTES = 8 * 1024;

type StreamedFormat = (typeof AWS_TRANSCRIBE_FORMATS)[number];
const MEDIA_ENCODING: Record<StreamedFormat, MediaEncoding> = { wav: 'pcm', flac: 'flac', ogg: 'ogg-opus', webm: 'ogg-opus' };
const isStreamed = (format: AudioFormat): format is StreamedFormat => (AWS_TRANSCRIBE_FORMATS as readonly AudioFormat[]).includes(format);

/**
 * Splits bytes into AudioEvents, lazily as the SDK pulls them, and holds each back until the audio sent
 * before it is no more than BURST_SECONDS ahead of the time since the stream started.
 */
async function* pacedAudioEvents(bytes: Uint8Array, eventBytes: number, secondsPerByte: number, pacer: Pacer): AsyncIterable<AudioStream> {
  const started = pacer.now();
  for (let at = 0; at < bytes.length; at += eventBytes) {
    const aheadMs = (at * secondsPerByte - BURST_SECONDS) * 1000 - (pacer.now() - started);
    // Under a millisecond ahead is rounding, not a reason to wait.
    if (aheadMs >= 1) await pacer.sleep(aheadMs);
    yield { AudioEvent: { AudioChunk: bytes.subarray(at, Math.min(bytes.length, at + eventBytes)) } };
  }
}

/**
 * Transcribe refuses bad audio and bad parameters with BadRequestException; the rest is the service's
 * trouble, which a retry may cure: LimitExceededException (the account's concurrent streams are all in
 * use), InternalFailure, ServiceUnavailable, a dropped connection.
 */
const toDomainError = (error: unknown): Error => {
  const name = (error as { name?: string } | null)?.name;
  if (error instanceof BadRequestException || name === 'BadRequestException') {
    return invalidInput('Audio could not be transcribed', 'Amazon Transcribe refused the audio');
  }
  if (name === 'LimitExceededException') {
    return dependencyUnavailable('Speech recognizer busy', 'Amazon Transcribe is at its limit of concurrent streams; try again shortly');
  }
  return dependencyUnavailable('Speech recognizer unavailable', 'Amazon Transcribe did not answer; try again shortly');
};

export class AwsTranscribeTranscriber implements Transcriber {
  readonly engine = AWS_TRANSCRIBE_ENGINE;
  readonly acceptedFormats = AWS_TRANSCRIBE_FORMATS;
  private readonly client: TranscribeStreamingClient;

  constructor(private readonly options: AwsTranscribeOptions) {
    this.client = options.client ?? new TranscribeStreamingClient({});
  }

  async transcribe(audio: AudioForTranscription): Promise<Transcription> {
    if (!isStreamed(audio.format)) {
      throw invalidInput(
        'Unsupported audio format',
        `Amazon Transcribe Streaming reads WAV, FLAC, Ogg Opus or WebM Opus, not ${audio.format}`,
      );
    }
    const format = audio.format;
    const { bytes, sampleRate, eventBytes, duration } = this.prepare({ ...audio, format });
    const secondsPerByte = bytes.length > 0 ? duration / bytes.length : 0;
    const identify = (this.options.identifyLanguageOptions?.length ?? 0) >= 2;
    let stream: AsyncIterable<TranscriptResultStream> | undefined;
    try {
      const response = await this.client.send(
        new StartStreamTranscriptionCommand({
          MediaEncoding: MEDIA_ENCODING[format],
          MediaSampleRateHertz: sampleRate,
          AudioStream: pacedAudioEvents(bytes, eventBytes, secondsPerByte, this.options.pacer ?? realTimePacer),
          ...(identify
            ? { IdentifyLanguage: true, LanguageOptions: this.options.identifyLanguageOptions!.join(',') }
            : { LanguageCode: this.options.languageCode as LanguageCode }),
        }),
      );
      stream = response.TranscriptResultStream;
    } catch (error) {
      throw toDomainError(error);
    }
    if (!stream) throw dependencyUnavailable('Speech recognizer unavailable', 'Amazon Transcribe returned no result stream');
    const finals: Result[] = [];
    try {
      for await (const event of stream) {
        if (event.TranscriptEvent) {
          for (const result of event.TranscriptEvent.Transcript?.Results ?? []) if (!result.IsPartial) finals.push(result);
          continue;
        }
        const failure = Object.values(event).find((value) => value instanceof Error);
        if (failure) throw failure;
      }
    } catch (error) {
      throw toDomainError(error);
    }
    return this.toTranscription(finals, duration);
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  private prepare(audio: AudioForTranscription & { format: StreamedFormat }): {
    bytes: Uint8Array;
    sampleRate: number;
    eventBytes: number;
    duration: number;
  } {
    if (audio.format === 'wav') {
      const pcm = wavToPcm16Mono(audio.bytes);
      const eventBytes = Math.max(2, Math.round(pcm.sampleRate * EVENT_SECONDS) * 2);
      return { bytes: int16LittleEndianBytes(pcm.samples), sampleRate: pcm.sampleRate, eventBytes, duration: pcm.duration };
    }
    if (audio.format === 'webm') {
      const ogg = webmToOggOpus(audio.bytes);
      return this.prepare({ ...audio, format: 'ogg', bytes: ogg.bytes, duration: ogg.duration });
    }
    const bytesPerEvent = Math.round((audio.bytes.length / Math.max(audio.duration, EVENT_SECONDS)) * EVENT_SECONDS);
    const eventBytes = Math.min(MAX_ENCODED_EVENT_BYTES, Math.max(MIN_ENCODED_EVENT_BYTES, bytesPerEvent));
    return { bytes: audio.bytes, sampleRate: audio.sampleRate, eventBytes, duration: audio.duration };
  }

  private toTranscription(finals: Result[], duration: number): Transcription {
    const alternatives = finals.map((result) => result.Alternatives?.[0]).filter((alternative) => alternative !== undefined);
    const text = alternatives
      .map((alternative) => alternative.Transcript?.trim() ?? '')
      .filter(Boolean)
      .join(' ');
    const words: WordTiming[] = alternatives
      .flatMap((alternative) => alternative.Items ?? [])
      .filter((item) => item.Type === 'pronunciation' && item.Content)
      .map((item) => ({
        word: item.Content!,
        start: item.StartTime ?? 0,
        end: item.EndTime ?? item.StartTime ?? 0,
        confidence: Math.min(1, Math.max(0, item.Confidence ?? 0)),
      }));
    const language =
      finals.find((result) => result.LanguageCode)?.LanguageCode ??
      (this.options.identifyLanguageOptions?.length ? 'und' : this.options.languageCode);
    return { text, confidence: meanConfidence(words), language, duration, words, engine: this.engine };
  }
}
