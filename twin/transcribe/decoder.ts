/**
 * Turns the audio bytes of a stream into 16-bit mono samples as they arrive. PCM is read as it is
 * (little-endian, at the stream's sample rate); Ogg Opus and FLAC go through one `ffmpeg` per stream,
 * fed on stdin and read on stdout as 16 kHz mono PCM, so decoding keeps pace with the upload.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';

export type MediaEncoding = 'pcm' | 'ogg-opus' | 'flac';
export const MEDIA_ENCODINGS: readonly MediaEncoding[] = ['pcm', 'ogg-opus', 'flac'];

/** The rate encoded audio is decoded to: what pocketsphinx's model reads. */
export const DECODED_SAMPLE_RATE = 16000;

export class AudioDecodeError extends Error {
  override readonly name = 'AudioDecodeError';
}

export interface AudioDecoder {
  /** The rate of the samples handed to `onSamples`. */
  readonly sampleRate: number;
  write(bytes: Uint8Array): void;
  /** No more input: resolves once every sample has been handed over; rejects with AudioDecodeError. */
  end(): Promise<void>;
  /** Stops at once (the client went away). */
  destroy(): void;
}

/** Little-endian 16-bit samples; an odd byte waits for its partner in the next chunk. */
class PcmDecoder implements AudioDecoder {
  private odd: number | undefined;

  constructor(
    readonly sampleRate: number,
    private readonly onSamples: (samples: Int16Array) => void,
  ) {}

  write(bytes: Uint8Array): void {
    let input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (this.odd !== undefined) {
      input = Buffer.concat([Buffer.from([this.odd]), input]);
      this.odd = undefined;
    }
    const whole = input.length - (input.length % 2);
    if (whole < input.length) this.odd = input[whole];
    const samples = new Int16Array(whole / 2);
    for (let i = 0; i < samples.length; i++) samples[i] = input.readInt16LE(i * 2);
    this.onSamples(samples);
  }

  async end(): Promise<void> {
    this.odd = undefined;
  }

  destroy(): void {
    this.odd = undefined;
  }
}

const FFMPEG_FORMAT: Record<Exclude<MediaEncoding, 'pcm'>, string> = { 'ogg-opus': 'ogg', flac: 'flac' };

class FfmpegDecoder implements AudioDecoder {
  readonly sampleRate = DECODED_SAMPLE_RATE;
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly pcm: PcmDecoder;
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; spawnError?: Error }>;
  private stderr = '';

  constructor(
    private readonly encoding: Exclude<MediaEncoding, 'pcm'>,
    onSamples: (samples: Int16Array) => void,
    command: string,
  ) {
    this.pcm = new PcmDecoder(DECODED_SAMPLE_RATE, onSamples);
    this.child = spawn(
      command,
      [
        '-hide_banner',
        '-loglevel',
        'error',
        '-f',
        FFMPEG_FORMAT[encoding],
        '-i',
        'pipe:0',
        '-ac',
        '1',
        '-ar',
        String(DECODED_SAMPLE_RATE),
        '-f',
        's16le',
        'pipe:1',
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let spawnError: Error | undefined;
    this.child.once('error', (error) => {
      spawnError = error;
    });
    this.child.stdout.on('data', (bytes: Buffer) => this.pcm.write(bytes));
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (text: string) => {
      if (this.stderr.length < 4000) this.stderr += text;
    });
    // ffmpeg may stop reading (bad input) while we still write: the write error is reported by end().
    this.child.stdin.on('error', () => undefined);
    this.exited = new Promise((resolve) =>
      this.child.once('close', (code, signal) => resolve({ code, signal, ...(spawnError ? { spawnError } : {}) })),
    );
  }

  write(bytes: Uint8Array): void {
    if (!this.child.stdin.destroyed && this.child.stdin.writable) this.child.stdin.write(bytes);
  }

  async end(): Promise<void> {
    this.child.stdin.end();
    const { code, signal, spawnError } = await this.exited;
    if (spawnError) throw new AudioDecodeError(`ffmpeg could not be started (${spawnError.message}): the twin needs the ffmpeg package`);
    if (code !== 0) {
      const detail = this.stderr.trim().split('\n').slice(-2).join(' ');
      throw new AudioDecodeError(`The ${this.encoding} audio could not be decoded (ffmpeg ${code ?? signal}: ${detail})`);
    }
  }

  destroy(): void {
    this.child.stdin.destroy();
    this.child.kill('SIGKILL');
  }
}

export const createDecoder = (
  encoding: MediaEncoding,
  sampleRate: number,
  onSamples: (samples: Int16Array) => void,
  ffmpegCommand = 'ffmpeg',
): AudioDecoder => (encoding === 'pcm' ? new PcmDecoder(sampleRate, onSamples) : new FfmpegDecoder(encoding, onSamples, ffmpegCommand));
