import { closeSync, openSync, readSync } from 'node:fs';

/** Reads what a growing file gained since the last call: pocketsphinx_batch appends each result to its output files. */
export class FileTail {
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
