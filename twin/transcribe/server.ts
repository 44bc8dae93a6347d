/**
 * Amazon Transcribe Streaming's StartStreamTranscription, played on this machine: HTTP/2 cleartext (h2c;
 * the SDK's NodeHttp2Handler connects to an http:// endpoint with `http2.connect`, no TLS needed), the
 * service's headers, event streams both ways, its error names and status codes, pocketsphinx behind it.
 *
 * What it does as the service does:
 * - POST /stream-transcription; the initial request's SigV4 Authorization is checked by the gate against
 *   `transcribe:StartStreamTranscription` on `*`. A refusal is a 403 with `x-amzn-errortype`.
 * - Parameters from the `x-amzn-transcribe-*` headers: media encoding pcm | ogg-opus | flac, sample rate
 *   8000-48000 Hz, a language code or identify-language with language options. Violations are a 400
 *   BadRequestException worded as the service's validation layer words them, every violation listed.
 * - More than `maxConcurrentStreams` streams at once: 429 LimitExceededException for the new one.
 * - The 200 response echoes the `x-amzn-transcribe-*` parameters, adds `x-amzn-request-id` and
 *   `x-amzn-transcribe-session-id`, and its body is an event stream of TranscriptEvents. One with no
 *   results is sent at once (the service sends such events while it has nothing to say; the SDK's
 *   send() resolves on the first event). An empty stream ends with that one event and no results.
 * - Final results (IsPartial false) per utterance, cut at pauses; words, times and confidences from
 *   pocketsphinx; capitalized and punctuated as the service does. Each final is preceded by one partial
 *   result (same ResultId, the first half of its words): the recognizer runs once per utterance, so the
 *   partial is not earlier news, only the shape a client must filter.
 * - Pacing: a result for audio ending at t seconds is written no earlier than t / pace seconds after the
 *   stream's first audio arrived, and the response ends no earlier than the whole audio's length / pace.
 *   Audio sent faster than real time is buffered, not refused (the service buffers too): the results
 *   simply arrive at the pace the audio would have played.
 * - No audio event for `idleTimeoutSeconds` (15 s, as the service): a BadRequestException event ends
 *   the stream. Audio that does not decode: a BadRequestException event. Recognizer failure: an
 *   InternalFailureException event.
 *
 * Not played: growing partial results and their stabilization, speaker labels, channel identification (audio
 * is read as mono), vocabularies and filters, redaction, the chained event signatures (not verified),
 * languages other than US English (any valid code is accepted; the words are pocketsphinx's English).
 */
import { randomUUID } from 'node:crypto';
import http2, { type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { LanguageCode } from '@aws-sdk/client-transcribe-streaming';
import type { Message } from '@smithy/eventstream-codec';
import type { Check, Gate, GateAnswer, SignedRequest } from '../iam/gate';
import { type AudioDecoder, createDecoder, MEDIA_ENCODINGS, type MediaEncoding } from './decoder';
import { encodeEvent, encodeException, type InboundEvent, MessageSplitter, readInboundMessage } from './event-stream';
import { finalResult, partialOf, pocketsphinxRecognizer, type SpeechRecognizer, type TranscribeResult } from './recognizer';
import { type Segment, Segmenter, type SegmenterOptions } from './segmenter';

/** The gate as this server uses it: the twin's IAM gate, or any stand-in with its authorize. */
export type TranscribeGate = Pick<Gate, 'authorize'>;
export type { Check, GateAnswer, SignedRequest };

export interface TranscribeStreamingOptions {
  gate: TranscribeGate;
  /** Streams open at once before a new one is refused with LimitExceededException (the service's default quota is 25). */
  maxConcurrentStreams?: number;
  /** 1 plays results at real time; 2 twice as fast. */
  pace?: number;
  /** Default: the project's pocketsphinx adapter, started warm and closed with the server. */
  recognizer?: SpeechRecognizer;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  idleTimeoutSeconds?: number;
  segmenter?: SegmenterOptions;
  ffmpegCommand?: string;
}

export interface StreamCall {
  requestId: string;
  sessionId?: string;
  principal?: string;
  status: number;
  /** The error name sent, in the HTTP response or as an exception event. */
  error?: string;
  mediaEncoding?: string;
  sampleRate?: number;
  languageCode?: string;
  audioBytes: number;
  audioSeconds: number;
  results: number;
  done: boolean;
}

export interface TranscribeStreamingServer {
  /** http://host:port, for `endpoint` or AWS_ENDPOINT_URL_TRANSCRIBE_STREAMING. */
  url: string;
  /** Always undefined: the server speaks cleartext HTTP/2, so no certificate is needed. */
  caCertPath?: string;
  close(): Promise<void>;
  activeStreams(): number;
  calls(): StreamCall[];
  /** Changes the concurrent-stream quota for new streams, as a quota change does; 0 refuses every stream. */
  setStreamQuota(streams: number): void;
}

const DEFAULT_MAX_STREAMS = 25;
const DEFAULT_IDLE_TIMEOUT_SECONDS = 15;
const LANGUAGE_CODES = new Set<string>(Object.values(LanguageCode));
const HEADER = 'x-amzn-transcribe-';
const SESSION_ID = /^[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{12}$/;

const single = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value);

interface StreamParameters {
  mediaEncoding: MediaEncoding;
  sampleRate: number;
  languageCode?: string;
  languageOptions?: string[];
  sessionId: string;
}

/** The service's validation layer: every violation, in its words. */
const validate = (headers: IncomingHttpHeaders): { parameters: StreamParameters } | { message: string } => {
  const problems: string[] = [];
  const encoding = single(headers[`${HEADER}media-encoding`]);
  if (encoding === undefined) problems.push("Value null at 'mediaEncoding' failed to satisfy constraint: Member must not be null");
  else if (!MEDIA_ENCODINGS.includes(encoding as MediaEncoding)) {
    problems.push(
      `Value '${encoding}' at 'mediaEncoding' failed to satisfy constraint: Member must satisfy enum value set: [${MEDIA_ENCODINGS.join(', ')}]`,
    );
  }
  const rateText = single(headers[`${HEADER}sample-rate`]);
  const rate = Number(rateText);
  if (rateText === undefined) problems.push("Value null at 'mediaSampleRateHertz' failed to satisfy constraint: Member must not be null");
  else if (!/^\d+$/.test(rateText.trim()) || !Number.isSafeInteger(rate)) {
    problems.push(`Value '${rateText}' at 'mediaSampleRateHertz' failed to satisfy constraint: Member must be an integer`);
  } else if (rate < 8000) {
    problems.push(
      `Value '${rate}' at 'mediaSampleRateHertz' failed to satisfy constraint: Member must have value greater than or equal to 8000`,
    );
  } else if (rate > 48000) {
    problems.push(
      `Value '${rate}' at 'mediaSampleRateHertz' failed to satisfy constraint: Member must have value less than or equal to 48000`,
    );
  }
  const languageCode = single(headers[`${HEADER}language-code`]);
  if (languageCode !== undefined && !LANGUAGE_CODES.has(languageCode)) {
    problems.push(
      `Value '${languageCode}' at 'languageCode' failed to satisfy constraint: Member must satisfy enum value set: [${[...LANGUAGE_CODES].join(', ')}]`,
    );
  }
  const sessionId = single(headers[`${HEADER}session-id`]);
  if (sessionId !== undefined && !SESSION_ID.test(sessionId)) {
    problems.push(
      `Value '${sessionId}' at 'sessionId' failed to satisfy constraint: Member must satisfy regular expression pattern: ${SESSION_ID.source.slice(1, -1)}`,
    );
  }
  const identify = ['identify-language', 'identify-multiple-languages'].some((name) => single(headers[`${HEADER}${name}`]) === 'true');
  const options = single(headers[`${HEADER}language-options`])
    ?.split(',')
    .map((option) => option.trim())
    .filter(Boolean);
  if (problems.length > 0) {
    return { message: `${problems.length} validation error${problems.length > 1 ? 's' : ''} detected: ${problems.join('; ')}` };
  }
  if (identify && languageCode !== undefined) {
    return { message: 'You must specify either LanguageCode or IdentifyLanguage or IdentifyMultipleLanguages, not more than one.' };
  }
  if (!identify && languageCode === undefined) {
    return { message: 'You must specify either LanguageCode or IdentifyLanguage or IdentifyMultipleLanguages in your request.' };
  }
  if (identify && (!options || options.length < 2)) {
    return { message: 'To use language identification, you must provide at least two language options with LanguageOptions.' };
  }
  const unknown = options?.find((option) => !LANGUAGE_CODES.has(option));
  if (identify && unknown)
    return { message: `The language option ${unknown} is not supported. Check the language options and try your request again.` };
  return {
    parameters: {
      mediaEncoding: encoding as MediaEncoding,
      sampleRate: rate,
      ...(languageCode !== undefined ? { languageCode } : {}),
      ...(identify ? { languageOptions: options } : {}),
      sessionId: sessionId ?? randomUUID(),
    },
  };
};

/** Pocketsphinx hears English: identification picks the preferred language if offered, else the first English option. */
const identification = (headers: IncomingHttpHeaders, options: string[]) => {
  const preferred = single(headers[`${HEADER}preferred-language`]);
  const chosen =
    (preferred && options.includes(preferred) ? preferred : undefined) ?? options.find((option) => option.startsWith('en-')) ?? options[0]!;
  const rest = options.filter((option) => option !== chosen);
  return {
    code: chosen,
    identified: [
      { LanguageCode: chosen, Score: 0.95 },
      ...rest.map((option) => ({ LanguageCode: option, Score: Math.round((0.05 / rest.length) * 1e4) / 1e4 })),
    ],
  };
};

const respondError = (stream: ServerHttp2Stream, requestId: string, status: number, errorType: string, message: string): void => {
  if (stream.destroyed || stream.headersSent) return;
  stream.respond({
    ':status': status,
    'content-type': 'application/json',
    'x-amzn-request-id': requestId,
    'x-amzn-requestid': requestId,
    'x-amzn-errortype': errorType,
  });
  stream.end(JSON.stringify({ Message: message }));
  // The client may still be sending its audio: read it and let it go.
  stream.resume();
};

/** One accepted StartStreamTranscription: audio in, paced results out. */
class TranscriptionStream {
  private readonly splitter = new MessageSplitter();
  private readonly decoder: AudioDecoder;
  private readonly segmenter: Segmenter;
  private readonly aborter = new AbortController();
  private readonly language: { code?: string; identified?: TranscribeResult['LanguageIdentification'] };
  private firstAudioAt: number | undefined;
  private emitted: Promise<void> = Promise.resolve();
  private audioEnded = false;
  private finished = false;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly stream: ServerHttp2Stream,
    private readonly parameters: StreamParameters,
    private readonly call: StreamCall,
    private readonly settings: {
      recognizer: SpeechRecognizer;
      pace: number;
      idleTimeoutSeconds: number;
      segmenter?: SegmenterOptions;
      ffmpegCommand?: string;
    },
    headers: IncomingHttpHeaders,
    private readonly onFinished: () => void,
  ) {
    this.language = parameters.languageOptions ? identification(headers, parameters.languageOptions) : {};
    this.decoder = createDecoder(
      parameters.mediaEncoding,
      parameters.sampleRate,
      (samples) => this.segmenter.push(samples),
      settings.ffmpegCommand,
    );
    this.segmenter = new Segmenter(this.decoder.sampleRate, (segment) => this.onSegment(segment), settings.segmenter);
  }

  start(requestHeaders: IncomingHttpHeaders, requestId: string): void {
    const echoed: Record<string, string> = {};
    for (const [name, value] of Object.entries(requestHeaders)) {
      const text = single(value);
      if (name.startsWith(HEADER) && text !== undefined) echoed[name] = text;
    }
    this.stream.respond({
      ...echoed,
      ':status': 200,
      'content-type': 'application/vnd.amazon.eventstream',
      'x-amzn-request-id': requestId,
      [`${HEADER}session-id`]: this.parameters.sessionId,
    });
    this.stream.write(encodeEvent('TranscriptEvent', { Transcript: { Results: [] } }));
    this.stream.on('data', (bytes: Buffer) => this.onBytes(bytes));
    this.stream.on('end', () => void this.endAudio());
    this.stream.on('close', () => this.finish());
    this.armIdleTimer();
  }

  private armIdleTimer(): void {
    clearTimeout(this.idleTimer);
    if (this.audioEnded || this.finished) return;
    const seconds = this.settings.idleTimeoutSeconds;
    this.idleTimer = setTimeout(
      () => this.fail('BadRequestException', `Your request timed out because no new audio was received for ${seconds} seconds.`),
      seconds * 1000,
    );
    this.idleTimer.unref();
  }

  private onBytes(bytes: Buffer): void {
    if (this.audioEnded || this.finished) return;
    let messages: Message[];
    try {
      messages = this.splitter.push(bytes);
    } catch (error) {
      this.fail('BadRequestException', `Could not read the audio stream: ${(error as Error).message}`);
      return;
    }
    for (const message of messages) {
      let event: InboundEvent;
      try {
        event = readInboundMessage(message);
      } catch (error) {
        this.fail('BadRequestException', `Could not read the audio stream: ${(error as Error).message}`);
        return;
      }
      if (event.kind === 'end') {
        void this.endAudio();
        return;
      }
      if (event.kind === 'other') {
        this.fail('BadRequestException', `The event ${event.eventType} is not valid in an AudioStream: send AudioEvents.`);
        return;
      }
      this.firstAudioAt ??= performance.now();
      this.call.audioBytes += event.chunk.byteLength;
      this.decoder.write(event.chunk);
      this.armIdleTimer();
    }
  }

  private onSegment(segment: Segment): void {
    this.call.audioSeconds = Math.round(segment.end * 1000) / 1000;
    if (!segment.hasSpeech || this.finished) return;
    const words = this.settings.recognizer.recognize(segment.samples, segment.sampleRate);
    words.catch(() => undefined); // awaited in order below
    this.emitted = this.emitted.then(async () => {
      if (this.finished) return;
      let result: TranscribeResult | undefined;
      try {
        result = finalResult(await words, segment, this.language);
      } catch {
        this.fail('InternalFailureException', 'An internal error occurred while transcribing your audio. Try your request again.');
        return;
      }
      const partial = result && partialOf(result);
      if (partial) {
        await this.notBefore(partial.EndTime);
        if (this.finished) return;
        this.stream.write(encodeEvent('TranscriptEvent', { Transcript: { Results: [partial] } }));
      }
      await this.notBefore(segment.end);
      if (!result || this.finished) return;
      this.call.results++;
      this.stream.write(encodeEvent('TranscriptEvent', { Transcript: { Results: [result] } }));
    });
  }

  private async endAudio(): Promise<void> {
    if (this.audioEnded || this.finished) return;
    this.audioEnded = true;
    clearTimeout(this.idleTimer);
    try {
      await this.decoder.end();
    } catch (error) {
      this.fail('BadRequestException', (error as Error).message);
      return;
    }
    this.segmenter.flush();
    await this.emitted;
    await this.notBefore(this.segmenter.seconds);
    if (this.finished) return;
    this.call.done = true;
    this.stream.end();
    this.stream.resume();
    this.finish();
  }

  /** Waits until `seconds` of audio would have played since the first audio arrived. */
  private async notBefore(seconds: number): Promise<void> {
    if (this.firstAudioAt === undefined) return;
    const due = this.firstAudioAt + (seconds * 1000) / this.settings.pace;
    try {
      for (let now = performance.now(); now < due && !this.finished; now = performance.now()) {
        await sleep(Math.max(1, Math.ceil(due - now)), undefined, { signal: this.aborter.signal });
      }
    } catch {
      // aborted: the stream is gone
    }
  }

  private fail(errorType: string, message: string): void {
    if (this.finished) return;
    this.call.error = errorType;
    if (!this.stream.destroyed && this.stream.writable) {
      this.stream.end(encodeException(errorType, message));
      this.stream.resume();
    }
    this.finish();
  }

  /** The stream no longer counts against the quota once its response has ended or the client left. */
  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.idleTimer);
    this.aborter.abort();
    this.decoder.destroy();
    this.onFinished();
  }
}

export const startTranscribeStreaming = async (options: TranscribeStreamingOptions): Promise<TranscribeStreamingServer> => {
  const { gate, pace = 1, host = '127.0.0.1', port = 0 } = options;
  let maxConcurrentStreams = options.maxConcurrentStreams ?? DEFAULT_MAX_STREAMS;
  if (!(pace > 0)) throw new RangeError('pace must be positive');
  if (!(maxConcurrentStreams >= 0)) throw new RangeError('maxConcurrentStreams must not be negative');
  const recognizer = options.recognizer ?? pocketsphinxRecognizer();
  const settings = {
    recognizer,
    pace,
    idleTimeoutSeconds: options.idleTimeoutSeconds ?? DEFAULT_IDLE_TIMEOUT_SECONDS,
    ...(options.segmenter ? { segmenter: options.segmenter } : {}),
    ...(options.ffmpegCommand ? { ffmpegCommand: options.ffmpegCommand } : {}),
  };
  const calls: StreamCall[] = [];
  let active = 0;
  const sessions = new Set<http2.ServerHttp2Session>();

  const handle = async (stream: ServerHttp2Stream, headers: IncomingHttpHeaders): Promise<void> => {
    const requestId = randomUUID();
    const call: StreamCall = { requestId, status: 0, audioBytes: 0, audioSeconds: 0, results: 0, done: false };
    calls.push(call);
    const refuse = (status: number, errorType: string, message: string) => {
      call.status = status;
      call.error = errorType;
      respondError(stream, requestId, status, errorType, message);
    };
    const [path = '', query = ''] = String(headers[':path'] ?? '').split(/\?(.*)/s, 2);
    const method = String(headers[':method'] ?? '');
    if (path !== '/stream-transcription' || method !== 'POST') {
      refuse(404, 'UnknownOperationException', `No operation at ${method} ${path}`);
      return;
    }
    // Over HTTP/2 the SDK signs the :authority pseudo-header in place of host: it stays in what the gate sees.
    const signed: SignedRequest['headers'] = {};
    for (const [name, value] of Object.entries(headers)) if (!name.startsWith(':') || name === ':authority') signed[name] = value;
    signed.host ??= single(headers[':authority']);
    const answer = await gate.authorize('transcribe', { method, path, query, headers: signed }, [
      { action: 'transcribe:StartStreamTranscription', resource: '*' },
    ]);
    if (!answer.allowed) {
      refuse(answer.status, answer.code, answer.message);
      return;
    }
    call.principal = answer.principal;
    const checked = validate(headers);
    if ('message' in checked) {
      refuse(400, 'BadRequestException', checked.message);
      return;
    }
    const { parameters } = checked;
    Object.assign(call, {
      sessionId: parameters.sessionId,
      mediaEncoding: parameters.mediaEncoding,
      sampleRate: parameters.sampleRate,
      ...(parameters.languageCode ? { languageCode: parameters.languageCode } : {}),
    });
    if (active >= maxConcurrentStreams) {
      refuse(
        429,
        'LimitExceededException',
        'You have reached your limit of concurrent streams. Wait for a stream to finish, then try your request again.',
      );
      return;
    }
    if (stream.destroyed) return;
    active++;
    call.status = 200;
    new TranscriptionStream(stream, parameters, call, settings, headers, () => {
      active--;
    }).start(headers, requestId);
  };

  const server = http2.createServer();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('error', () => undefined);
    session.once('close', () => sessions.delete(session));
  });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    handle(stream, headers).catch(() => {
      if (!stream.headersSent)
        respondError(stream, randomUUID(), 500, 'InternalFailureException', 'An internal error occurred. Try your request again.');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    url: `http://${urlHost}:${address.port}`,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const session of sessions) session.destroy();
      await closed;
      if (!options.recognizer) await recognizer.close();
    },
    activeStreams: () => active,
    setStreamQuota: (streams) => {
      if (!(streams >= 0)) throw new RangeError('the stream quota must not be negative');
      maxConcurrentStreams = streams;
    },
    calls: () => calls.map((call) => ({ ...call })),
  };
};
