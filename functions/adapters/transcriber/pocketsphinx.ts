/**
 * The local recognizer: one `pocketsphinx_batch` kept warm, fed through a FIFO.
 *
 * pocketsphinx_batch reads utterance names from its `-ctl` file line by line and writes each result to
 * its `-hyp` and `-ctm` files (unbuffered) before logging "<id> done" on stderr. Pointing `-ctl` at a
 * FIFO we hold open keeps the model loaded between chunks, so a chunk costs its decode only, not the
 * ~0.7 s model load a cold `pocketsphinx_continuous` pays. Jobs run one at a time from a queue (the
 * decoder is single-threaded; a second process would only split the same two cores); a decode that
 * outlives its deadline gets the process killed, and a process that dies is replaced on the next job.
 *
 * batch decodes each file as one utterance with the model's batch CMN (feat.params `-cmn batch`), the
 * same model, dictionary and language model `pocketsphinx_continuous` loads by default, and every frame
 * (no silence removal) so that word times are times in the chunk.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { wavToPcm16Mono, int16LittleEndianBytes } from './pcm';
import { dependencyUnavailable, invalidInput } from '../../core/errors';
import type { Logger } from '../../core/ports/logger';
import { meanConfidence, type AudioForTranscription, type Transcriber, type Transcription, type WordTiming } from '../../core/ports/transcriber';

export const POCKETSPHINX_MODEL_DIR = '/usr/share/pocketsphinx/model/en-us';
export const POCKETSPHINX_SAMPLE_RATE = 16000;
export const POCKETSPHINX_INSTALL_HINT =
  'pocketsphinx is not installed: run "sudo apt-get install -y pocketsphinx pocketsphinx-en-us" (npm start installs it), then retry';

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
const STDERR_TAIL_LINES = 40;
const WORK_DIR_PREFIX = 'interview-ops-pocketsphinx-';
const OWNER_FILE = 'owner.pid';

interface Job {
  id: string;
  pcm: Uint8Array;
  duration: number;
  attempts: number;
  resolve(result: Transcription): void;
  reject(error: Error): void;
}

const DECODING_LINE = /^INFO: batch\.c\(\d+\): Decoding '([^']+)'$/;
const DONE_LINE = /^(\S+) done -+$/;
const HYP_LINE = /^(.*) \((\S+) (-?\d+)\)$/;

const onPath = (command: string): boolean => {
  const candidates = command.includes('/') ? [command] : (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, command));
  return candidates.some((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
};

const readable = (path: string): boolean => {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
};

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Work directories left by services that were killed outright (no chance to clean up) go at the next start. */
const removeAbandonedWorkDirs = (): void => {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(WORK_DIR_PREFIX)) continue;
    const dir = join(tmpdir(), name);
    try {
      const owner = Number(readFileSync(join(dir, OWNER_FILE), 'utf8'));
      if (Number.isInteger(owner) && owner > 0 && !isAlive(owner)) rmSync(dir, { recursive: true, force: true });
    } catch {
      // being created, or not ours to judge
    }
  }
};

/** Reads what a growing file gained since the last call. */
class FileTail {
  private fd: number | undefined;
  private position = 0;

  constructor(private readonly path: string) {}

  readNew(): string {
    this.fd ??= openSync(this.path, 'r');
    const pieces: Buffer[] = [];
    const buffer = Buffer.alloc(64 * 1024);
    for (;;) {
      const read = readSync(this.fd, buffer, 0, buffer.length, this.position);
      if (read === 0) break;
      this.position += read;
      pieces.push(Buffer.from(buffer.subarray(0, read)));
    }
    return Buffer.concat(pieces).toString('utf8');
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** One pocketsphinx_batch process and the files it talks through. */
class Recognizer {
  readonly child: ChildProcess;
  private readonly dir: string;
  private readonly fifo: number;
  private readonly hyp: FileTail;
  private readonly ctm: FileTail;
  private stderrRest = '';
  readonly stderrTail: string[] = [];
  exited = false;
  completedJobs = 0;

  constructor(
    command: string,
    modelDir: string,
    private readonly events: {
      decoding(id: string): void;
      done(id: string, hypLines: string, ctmLines: string): void;
      exit(code: number | null, signal: NodeJS.Signals | null): void;
    },
  ) {
    this.dir = mkdtempSync(join(tmpdir(), WORK_DIR_PREFIX));
    writeFileSync(join(this.dir, OWNER_FILE), String(process.pid));
    const ctl = join(this.dir, 'ctl.fifo');
    execFileSync('mkfifo', ['-m', '600', ctl]);
    // Opened read-write, a FIFO never blocks on open and never signals EOF while we hold it.
    this.fifo = openSync(ctl, constants.O_RDWR);
    const hypPath = join(this.dir, 'out.hyp');
    const ctmPath = join(this.dir, 'out.ctm');
    this.hyp = new FileTail(hypPath);
    this.ctm = new FileTail(ctmPath);
    this.child = spawn(
      command,
      [
        ...['-hmm', join(modelDir, 'en-us'), '-lm', join(modelDir, 'en-us.lm.bin'), '-dict', join(modelDir, 'cmudict-en-us.dict')],
        ...['-adcin', 'yes', '-cepdir', this.dir, '-cepext', '.raw', '-samprate', String(POCKETSPHINX_SAMPLE_RATE)],
        // The voice activity detector drops silent frames before the search, and the word times it then
        // reports count only the frames it kept: with it, a word after 2 s of silence is dated 0.6 s.
        // Without it every frame is 10 ms of the chunk; the words recognized on the test recordings are the same.
        ...['-remove_silence', 'no'],
        ...['-ctl', ctl, '-hyp', hypPath, '-ctm', ctmPath],
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (text: string) => this.onStderr(text));
    this.child.once('error', () => undefined); // spawn failures also arrive as 'exit'/'close'
    this.child.once('close', (code, signal) => {
      this.exited = true;
      this.dispose();
      events.exit(code, signal);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  submit(job: Job): void {
    writeFileSync(join(this.dir, `${job.id}.raw`), job.pcm);
    writeSync(this.fifo, `${job.id}\n`);
  }

  forget(id: string): void {
    rmSync(join(this.dir, `${id}.raw`), { force: true });
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (!this.exited) this.child.kill(signal);
  }

  private onStderr(text: string): void {
    const lines = (this.stderrRest + text).split('\n');
    this.stderrRest = lines.pop()!;
    for (const line of lines) {
      this.stderrTail.push(line);
      if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
      const decoding = DECODING_LINE.exec(line);
      if (decoding) {
        this.events.decoding(decoding[1]!);
        continue;
      }
      const done = DONE_LINE.exec(line);
      if (done) {
        this.completedJobs++;
        // Both files are written, unbuffered, before the "done" line reaches stderr.
        this.events.done(done[1]!, this.hyp.readNew(), this.ctm.readNew());
      }
    }
  }

  private dispose(): void {
    this.hyp.close();
    this.ctm.close();
    try {
      closeSync(this.fifo);
    } catch {
      // already closed
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Ends the process the polite way: EOF on its control list makes it finish and exit. */
  async stop(graceMs = 2000): Promise<void> {
    if (this.exited) return;
    const closed = new Promise<void>((resolve) => this.child.once('close', () => resolve()));
    try {
      closeSync(this.fifo);
    } catch {
      // already closed
    }
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.kill('SIGKILL'), graceMs);
    await closed;
    clearTimeout(timer);
  }
}

export const parseHypothesis = (hypLines: string, id: string): string | null => {
  for (const line of hypLines.split('\n')) {
    const match = HYP_LINE.exec(line);
    if (match && match[2] === id) return match[1]!.trim().split(/\s+/).filter(Boolean).join(' ');
  }
  return null;
};

export const parseCtm = (ctmLines: string, id: string): WordTiming[] =>
  ctmLines
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields.length === 6 && fields[0] === id)
    .map(([, , start, length, word, posterior]) => ({
      word: word!,
      start: Number(start),
      end: Math.round((Number(start) + Number(length)) * 100) / 100,
      confidence: Math.min(1, Math.max(0, Number(posterior))),
    }));

export class PocketsphinxTranscriber implements Transcriber {
  readonly engine = 'pocketsphinx';
  readonly acceptedFormats = ['wav'] as const;
  private readonly command: string;
  private readonly modelDir: string;
  private readonly decodeTimeoutMs: (seconds: number) => number;
  private readonly startupTimeoutMs: number;
  private readonly maxQueued: number;
  private readonly logger: Logger;
  private recognizer: Recognizer | undefined;
  private readonly queue: Job[] = [];
  private current: { job: Job; timer: NodeJS.Timeout; recognizer: Recognizer } | undefined;
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
    return (
      onPath(this.command) &&
      ['en-us/mdef', 'en-us.lm.bin', 'cmudict-en-us.dict'].every((file) => readable(join(this.modelDir, file)))
    );
  }

  /** The running recognizer's process id, if one runs. */
  get processId(): number | undefined {
    return this.recognizer && !this.recognizer.exited ? this.recognizer.pid : undefined;
  }

  async transcribe(audio: AudioForTranscription): Promise<Transcription> {
    if (this.closed) throw dependencyUnavailable('Speech recognizer unavailable', 'The recognizer is shutting down');
    if (audio.format !== 'wav') {
      throw invalidInput('Unsupported audio format', `The local recognizer reads WAV audio, not ${audio.format}`);
    }
    if (!this.installed()) throw dependencyUnavailable('Speech recognizer unavailable', POCKETSPHINX_INSTALL_HINT);
    const pcm = wavToPcm16Mono(audio.bytes, POCKETSPHINX_SAMPLE_RATE);
    if (this.queue.length >= this.maxQueued) {
      throw dependencyUnavailable('Speech recognizer busy', `More than ${this.maxQueued} chunks are waiting; try again shortly`);
    }
    return new Promise<Transcription>((resolve, reject) => {
      this.queue.push({
        id: `u${++this.sequence}`,
        pcm: int16LittleEndianBytes(pcm.samples),
        duration: pcm.duration,
        attempts: 0,
        resolve,
        reject,
      });
      this.pump();
    });
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

  private ensureRecognizer(): Recognizer {
    if (this.recognizer && !this.recognizer.exited) return this.recognizer;
    const recognizer: Recognizer = new Recognizer(this.command, this.modelDir, {
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
      recognizer.submit(job);
    } catch (error) {
      this.finish(recognizer, job);
      this.logger.error('Could not hand a chunk to the speech recognizer', { error });
      job.reject(dependencyUnavailable('Speech recognizer unavailable', 'The recognizer could not take the chunk; try again'));
      recognizer.kill();
    }
  }

  private onDecoding(recognizer: Recognizer, id: string): void {
    const current = this.current;
    if (!current || current.job.id !== id || current.recognizer !== recognizer) return;
    clearTimeout(current.timer);
    current.timer = setTimeout(() => this.onTimeout(recognizer, current.job, 'decode'), this.decodeTimeoutMs(current.job.duration));
  }

  private onDone(recognizer: Recognizer, id: string, hypLines: string, ctmLines: string): void {
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

  private onTimeout(recognizer: Recognizer, job: Job, phase: 'start' | 'decode'): void {
    if (this.current?.job !== job) return;
    this.finish(recognizer, job);
    this.logger.error('Speech recognizer timed out; restarting it', { id: job.id, phase, pid: recognizer.pid });
    job.reject(
      dependencyUnavailable(
        'Transcription timed out',
        phase === 'decode' ? 'The recognizer did not finish this chunk in time; try again' : 'The recognizer did not start in time; try again',
      ),
    );
    recognizer.kill();
    if (this.recognizer === recognizer) this.recognizer = undefined;
    this.pump();
  }

  private onExit(recognizer: Recognizer, code: number | null, signal: NodeJS.Signals | null): void {
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
        current.job.reject(dependencyUnavailable('Speech recognizer unavailable', 'The recognizer stopped while decoding this chunk; try again'));
      }
    }
    if (this.queue.length > 0) this.pump();
    else if (this.deathsWithoutProgress < MAX_EAGER_RESTARTS) this.ensureRecognizer();
  }

  private finish(recognizer: Recognizer, job: Job): void {
    if (this.current?.job === job) {
      clearTimeout(this.current.timer);
      this.current = undefined;
    }
    recognizer.forget(job.id);
  }
}
