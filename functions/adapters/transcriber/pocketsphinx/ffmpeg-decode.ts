/**
 * Compressed uploads (FLAC, Ogg Opus, WebM Opus, MP4 AAC or Opus) decoded to what pocketsphinx reads by
 * Debian's ffmpeg: 16-bit mono PCM at the model's rate. The bytes go through a temporary file, not a
 * pipe, because an MP4 whose moov box follows its data can only be read by seeking.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AudioFormat } from '../../../core/audio/probe';
import { dependencyUnavailable, invalidInput } from '../../../core/errors';

export const FFMPEG_INSTALL_HINT = 'ffmpeg is not installed: run "sudo apt-get install -y ffmpeg" (npm start installs it), then retry';

/** ffmpeg's demuxer name per upload format: named, not guessed, so a mislabelled file fails rather than decodes. */
const DEMUXER: Record<Exclude<AudioFormat, 'wav'>, string> = { flac: 'flac', ogg: 'ogg', webm: 'matroska', mp4: 'mp4' };

export const decodeWithFfmpeg = async (
  bytes: Uint8Array,
  format: Exclude<AudioFormat, 'wav'>,
  sampleRate: number,
  command = 'ffmpeg',
): Promise<Uint8Array> => {
  const dir = await mkdtemp(join(tmpdir(), 'interview-ops-ffmpeg-'));
  try {
    const input = join(dir, `input.${format}`);
    await writeFile(input, bytes);
    const args = ['-nostdin', '-v', 'error', '-f', DEMUXER[format], '-i', input, '-map', '0:a:0', '-ac', '1', '-ar', String(sampleRate)];
    return await run(command, [...args, '-f', 's16le', '-acodec', 'pcm_s16le', 'pipe:1']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};

const run = (command: string, args: string[]) =>
  new Promise<Uint8Array>((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    child.on('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'ENOENT' ? dependencyUnavailable('Audio decoder unavailable', FFMPEG_INSTALL_HINT) : error),
    );
    child.on('close', (code) => {
      const pcm = Buffer.concat(out);
      // ffmpeg's message names the temporary file: it stays in the logs (cause), never in the answer.
      if (code !== 0 || pcm.length < 2) {
        reject(invalidInput('Invalid audio', 'The audio could not be decoded', { cause: new Error(stderr.trim()) }));
      } else resolve(pcm.subarray(0, pcm.length - (pcm.length % 2)));
    });
  });
