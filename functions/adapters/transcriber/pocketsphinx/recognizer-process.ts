/**
 * One pocketsphinx_batch process and the files it talks through. It reads utterance names from its
 * `-ctl` file, a FIFO we hold open so the model stays loaded between chunks, and writes each result to
 * its `-hyp` and `-ctm` files before logging "<id> done" on stderr.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { FileTail } from './file-tail';
import { POCKETSPHINX_SAMPLE_RATE } from './installation';
import { decodingDoneFor, decodingStartedFor } from './output';
import { makeWorkDir } from './work-dir';

const STDERR_TAIL_LINES = 40;

export interface RecognizerEvents {
  decoding(id: string): void;
  done(id: string, hypLines: string, ctmLines: string): void;
  exit(code: number | null, signal: NodeJS.Signals | null): void;
}

export class RecognizerProcess {
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
    private readonly events: RecognizerEvents,
  ) {
    this.dir = makeWorkDir();
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
        // The voice activity detector drops silent frames and dates words by the frames it kept; without
        // it every frame is 10 ms of the chunk, so word times are times in the chunk.
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

  /** Hands one utterance of 16 kHz 16-bit PCM to the decoder. */
  submit(id: string, pcm: Uint8Array): void {
    writeFileSync(join(this.dir, `${id}.raw`), pcm);
    writeSync(this.fifo, `${id}\n`);
  }

  forget(id: string): void {
    rmSync(join(this.dir, `${id}.raw`), { force: true });
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (!this.exited) this.child.kill(signal);
  }

  /** Ends the process the polite way: EOF on its control list makes it finish and exit. */
  async stop(graceMs = 2000): Promise<void> {
    if (this.exited) return;
    const closed = new Promise<void>((resolve) => this.child.once('close', () => resolve()));
    this.closeFifo();
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.kill('SIGKILL'), graceMs);
    await closed;
    clearTimeout(timer);
  }

  private onStderr(text: string): void {
    const lines = (this.stderrRest + text).split('\n');
    this.stderrRest = lines.pop()!;
    for (const line of lines) {
      this.stderrTail.push(line);
      if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
      const decoding = decodingStartedFor(line);
      if (decoding !== null) {
        this.events.decoding(decoding);
        continue;
      }
      const done = decodingDoneFor(line);
      if (done !== null) {
        this.completedJobs++;
        // Both files are written, unbuffered, before the "done" line reaches stderr.
        this.events.done(done, this.hyp.readNew(), this.ctm.readNew());
      }
    }
  }

  private closeFifo(): void {
    try {
      closeSync(this.fifo);
    } catch {
      // already closed
    }
  }

  private dispose(): void {
    this.hyp.close();
    this.ctm.close();
    this.closeFifo();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
