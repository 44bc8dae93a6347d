/**
 * The local recognizer: one pocketsphinx_batch kept warm (pocketsphinx/recognizer-process.ts), fed one
 * chunk at a time from a queue, since the decoder is single-threaded. A decode past its deadline gets the
 * process killed; a process that dies is replaced on the next job, and its chunk gets one more try.
 */

import type { AudioFormat } from '../../core/audio/probe';
import { dependencyUnavailable, invalidInput } from '../../core/errors';
import type { Logger } from '../../core/ports/logger';
import { type AudioForTranscription, meanConfidence, type Transcriber, type Transcription } from '../../core/ports/transcriber';
import { int16LittleEndianBytes, wavToPcm16Mono } from './pcm';
import { decodeWithFfmpeg } from './pocketsphinx/ffmpeg-decode';
import {
  POCKETSPHINX_INSTALL_HINT,
  POCKETSPHINX_MODEL_DIR,
  POCKETSPHINX_SAMPLE_RATE,
  pocketsphinxInstalled,
} from './pocketsphinx/installation';
import { parseCtm, parseHypothesis } from './pocketsphinx/output';
import { RecognizerProcess } from './pocketsphinx/recognizer-process';
import { removeAbandonedWorkDirs } from './pocketsphinx/work-dir';

export interface PocketsphinxOptions {
  logger: Logger;
  /** The batch decoder binary, looked up on PATH unless absolute. */
  command?: string;
  modelDir?: string;
  /** How long one decode may run once it has started, from the audio's length in seconds. */
  decodeTimeoutMs?: (audioSeconds: number) => number;
  /** How long a new process may take to load its model before its first decode starts. */
  startupTimeoutMs?: number;
  /** Jobs waiting beyond this are refused with a 503 rather than queued without bound. */
  maxQueued?: number;
  /** Start the recognizer now rather than on the first chunk. */
  warm?: boolean;
}

const DEFAULT_DECODE_TIMEOUT = (seconds: number) => Math.max(20_000, seconds * 10_000);
const DEFAULT_STARTUP_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_QUEUED = 200;
/** A process that keeps dying without finishing a job is not restarted ahead of demand. */
const MAX_EAGER_RESTARTS = 3;

interface Job {
  id: string;
  pcm: Uint8Array;
  duration: number;
  attempts: number;
  resolve(result: Transcription): void;
  reject(error: Error): void;
}

const decodeWavForModel = (bytes: Uint8Array) => {
  const pcm = wavToPcm16Mono(bytes, POCKETSPHINX_SAMPLE_RATE);
  return { bytes: int16LittleEndianBytes(pcm.samples), duration: pcm.duration };
};

export class PocketsphinxTranscriber implements Transcriber {
  readonly engine = 'pocketsphinx';
  /** WAV through our own converter (pcm.ts); the rest through ffmpeg. */
  readonly acceptedFormats = ['wav', 'flac', 'ogg', 'webm', 'mp4'] as const;
  private readonly command: string;
  private readonly modelDir: string;
  private readonly decodeTimeoutMs: (seconds: number) => number;
  private readonly startupTimeoutMs: number;
  private readonly maxQueued: number;
  private readonly logger: Logger;
  private recognizer: RecognizerProcess | undefined;
  private readonly queue: Job[] = [];
  private current: { job: Job; timer: NodeJS.Timeout; recognizer: RecognizerProcess } | undefined;
  private sequence = 0;
  private deathsWithoutProgress = 0;
  private closed = false;

  constructor(options: PocketsphinxOptions) {
    this.logger = options.logger;
    this.command = options.command ?? 'pocketsphinx_batch';
    this.modelDir = options.modelDir ?? POCKETSPHINX_MODEL_DIR;
    this.decodeTimeoutMs = options.decodeTimeoutMs ?? DEFAULT_DECODE_TIMEOUT;
    this.startupTimeoutMs = options.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS;
    this.maxQueued = options.maxQueued ?? DEFAULT_MAX_QUEUED;
    removeAbandonedWorkDirs();
    if (options.warm && this.installed()) this.ensureRecognizer();
  }

  /** The binary and the US English model are both present. */
  installed(): boolean {
    return pocketsphinxInstalled(this.command, this.modelDir);
  }

  /** The running recognizer's process id, if one runs. */
  get processId(): number | undefined {
    return this.recognizer && !this.recognizer.exited ? this.recognizer.pid : undefined;
  }

  async transcribe(audio: AudioForTranscription): Promise<Transcription> {
    if (this.closed) throw dependencyUnavailable('Speech recognizer unavailable', 'The recognizer is shutting down');
    if (!this.acceptedFormats.includes(audio.format)) {
      throw invalidInput('Unsupported audio format', `The local recognizer does not read ${audio.format} audio`);
    }
    if (!this.installed()) throw dependencyUnavailable('Speech recognizer unavailable', POCKETSPHINX_INSTALL_HINT);
    // WAV is converted at once, so a close() right after this call still finds the job queued and answers it.
    const pcm = audio.format === 'wav' ? decodeWavForModel(audio.bytes) : await this.decodeCompressed(audio.bytes, audio.format);
    if (this.closed) throw dependencyUnavailable('Speech recognizer unavailable', 'The recognizer is shutting down');
    if (this.queue.length >= this.maxQueued) {
      throw dependencyUnavailable('Speech recognizer busy', `More than ${this.maxQueued} chunks are waiting; try again shortly`);
    }
    return new Promise<Transcription>((resolve, reject) => {
      this.queue.push({
        id: `u${++this.sequence}`,
        pcm: pcm.bytes,
        duration: pcm.duration,
        attempts: 0,
        resolve,
        reject,
      });
      this.pump();
    });
  }

  /** Compressed audio through ffmpeg: 16-bit mono PCM at the model's rate, and its length in seconds. */
  private async decodeCompressed(encoded: Uint8Array, format: Exclude<AudioFormat, 'wav'>) {
    const bytes = await decodeWithFfmpeg(encoded, format, POCKETSPHINX_SAMPLE_RATE);
    return { bytes, duration: bytes.length / 2 / POCKETSPHINX_SAMPLE_RATE };
  }

  async close(): Promise<void> {
    this.closed = true;
    const current = this.current;
    if (current) this.finish(current.recognizer, current.job);
    for (const job of [...(current ? [current.job] : []), ...this.queue.splice(0)]) {
      job.reject(dependencyUnavailable('Speech recognizer unavailable', 'The recognizer is shutting down'));
    }
    const recognizer = this.recognizer;
    this.recognizer = undefined;
    await recognizer?.stop();
  }

  private ensureRecognizer(): RecognizerProcess {
    if (this.recognizer && !this.recognizer.exited) return this.recognizer;
    const recognizer: RecognizerProcess = new RecognizerProcess(this.command, this.modelDir, {
      decoding: (id) => this.onDecoding(recognizer, id),
      done: (id, hyp, ctm) => this.onDone(recognizer, id, hyp, ctm),
      exit: (code, signal) => this.onExit(recognizer, code, signal),
    });
    this.recognizer = recognizer;
    this.logger.debug('Speech recognizer started', { engine: this.engine, pid: recognizer.pid });
    return recognizer;
  }

  private pump(): void {
    if (this.current || this.closed) return;
    const job = this.queue.shift();
    if (!job) return;
    job.attempts++;
    const recognizer = this.ensureRecognizer();
    // Until the decode starts, the clock covers loading the model too.
    const timer = setTimeout(() => this.onTimeout(recognizer, job, 'start'), this.startupTimeoutMs + this.decodeTimeoutMs(job.duration));
    this.current = { job, timer, recognizer };
    try {
      recognizer.submit(job.id, job.pcm);
    } catch (error) {
      this.finish(recognizer, job);
      this.logger.error('Could not hand a chunk to the speech recognizer', { error });
      job.reject(dependencyUnavailable('Speech recognizer unavailable', 'The recognizer could not take the chunk; try again'));
      recognizer.kill();
    }
  }

  private onDecoding(recognizer: RecognizerProcess, id: string): void {
    const current = this.current;
    if (!current || current.job.id !== id || current.recognizer !== recognizer) return;
    clearTimeout(current.timer);
    current.timer = setTimeout(() => this.onTimeout(recognizer, current.job, 'decode'), this.decodeTimeoutMs(current.job.duration));
  }

  private onDone(recognizer: RecognizerProcess, id: string, hypLines: string, ctmLines: string): void {
    const current = this.current;
    if (!current || current.job.id !== id || current.recognizer !== recognizer) return;
    const { job } = current;
    this.finish(recognizer, job);
    this.deathsWithoutProgress = 0;
    const text = parseHypothesis(hypLines, id);
    if (text === null) {
      this.logger.error('Speech recognizer wrote no hypothesis', { id, stderr: recognizer.stderrTail.slice(-5) });
      job.reject(dependencyUnavailable('Transcription failed', 'The recognizer returned no result for this chunk; try again'));
    } else {
      const words = parseCtm(ctmLines, id);
      job.resolve({ text, confidence: meanConfidence(words), language: 'en', duration: job.duration, words, engine: this.engine });
    }
    this.pump();
  }

  private onTimeout(recognizer: RecognizerProcess, job: Job, phase: 'start' | 'decode'): void {
    if (this.current?.job !== job) return;
    this.finish(recognizer, job);
    this.logger.error('Speech recognizer timed out; restarting it', { id: job.id, phase, pid: recognizer.pid });
    job.reject(
      dependencyUnavailable(
        'Transcription timed out',
        phase === 'decode'
          ? 'The recognizer did not finish this chunk in time; try again'
          : 'The recognizer did not start in time; try again',
      ),
    );
    recognizer.kill();
    if (this.recognizer === recognizer) this.recognizer = undefined;
    this.pump();
  }

  private onExit(recognizer: RecognizerProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.recognizer === recognizer) this.recognizer = undefined;
    if (this.closed) return;
    const current = this.current?.recognizer === recognizer ? this.current : undefined;
    if (recognizer.completedJobs === 0) this.deathsWithoutProgress++;
    this.logger.warn('Speech recognizer exited', { code, signal, pid: recognizer.pid, stderr: recognizer.stderrTail.slice(-5) });
    if (current) {
      this.finish(recognizer, current.job);
      if (current.job.attempts < 2 && this.deathsWithoutProgress < MAX_EAGER_RESTARTS) {
        // The chunk did nothing wrong as far as we know: give it one more try on a fresh process.
        this.queue.unshift(current.job);
      } else {
        current.job.reject(
          dependencyUnavailable('Speech recognizer unavailable', 'The recognizer stopped while decoding this chunk; try again'),
        );
      }
    }
    if (this.queue.length > 0) this.pump();
    else if (this.deathsWithoutProgress < MAX_EAGER_RESTARTS) this.ensureRecognizer();
  }

  private finish(recognizer: RecognizerProcess, job: Job): void {
    if (this.current?.job === job) {
      clearTimeout(this.current.timer);
      this.current = undefined;
    }
    recognizer.forget(job.id);
  }
}
