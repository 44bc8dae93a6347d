/** Audio bytes for tests, built with the same WAV library the service decodes with, plus real recordings. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import wavefile from 'wavefile';

export const POCKETSPHINX_TEST_DATA = '/usr/share/pocketsphinx/test/data';

export const realWav = (name = 'cards/001.wav'): Buffer => readFileSync(`${POCKETSPHINX_TEST_DATA}/${name}`);

/** A WAV of `seconds` of a quiet tone in the given sample layout. */
export const toneWav = (options: { sampleRate?: number; channels?: number; bitDepth?: string; seconds?: number } = {}): Buffer => {
  const { sampleRate = 16000, channels = 1, bitDepth = '16', seconds = 0.5 } = options;
  const frames = Math.round(sampleRate * seconds);
  const isFloat = bitDepth === '32f' || bitDepth === '64';
  const peak = isFloat ? 0.25 : 2 ** (Number(bitDepth) - 3);
  const channel = Array.from({ length: frames }, (_, i) => Math.round(peak * Math.sin((2 * Math.PI * 440 * i) / sampleRate) * 1e6) / 1e6);
  const wave = new wavefile.WaveFile();
  wave.fromScratch(channels, sampleRate, bitDepth, channels === 1 ? channel : Array.from({ length: channels }, () => channel));
  return Buffer.from(wave.toBuffer());
};

/** A minimal FLAC stream: the marker and a STREAMINFO block (no frames: probing reads only the header). */
export const flacHeader = (sampleRate: number, channels: number, totalSamples: number): Buffer => {
  const info = Buffer.alloc(34);
  info.writeUInt16BE(4096, 0);
  info.writeUInt16BE(4096, 2);
  // bits 80..99 rate, 100..102 channels-1, 103..107 bps-1, 108..143 total samples
  const high = (sampleRate << 12) | ((channels - 1) << 9) | (15 << 4) | Math.floor(totalSamples / 2 ** 32);
  info.writeUInt32BE(high >>> 0, 10);
  info.writeUInt32BE(totalSamples % 2 ** 32, 14);
  return Buffer.concat([Buffer.from('fLaC'), Buffer.from([0x80, 0, 0, 34]), info]);
};

/** One Ogg page holding an OpusHead, and a last page whose granule position fixes the length. */
export const oggOpusHeader = (channels: number, seconds: number, preSkip = 312): Buffer => {
  const page = (granule: bigint, payload: Buffer) => {
    const header = Buffer.alloc(27 + 1);
    header.write('OggS', 0);
    header.writeBigInt64LE(granule, 6);
    header[26] = 1;
    header[27] = payload.length;
    return Buffer.concat([header, payload]);
  };
  const head = Buffer.alloc(19);
  head.write('OpusHead', 0);
  head[8] = 1;
  head[9] = channels;
  head.writeUInt16LE(preSkip, 10);
  head.writeUInt32LE(48000, 12);
  return Buffer.concat([page(0n, head), page(BigInt(Math.round(seconds * 48000) + preSkip), Buffer.alloc(10))]);
};

/** The formats browsers record, made by real encoders: libopus in Ogg or WebM, AAC in MP4 (as Safari), and FLAC. */
export type EncodedFormat = 'ogg' | 'webm' | 'mp4' | 'flac';

const ENCODER_ARGS: Record<EncodedFormat, string[]> = {
  ogg: ['-c:a', 'libopus', '-b:a', '32k', '-f', 'ogg'],
  webm: ['-c:a', 'libopus', '-b:a', '32k', '-f', 'webm'],
  mp4: ['-c:a', 'aac', '-b:a', '64k', '-f', 'mp4'],
  flac: ['-c:a', 'flac', '-f', 'flac'],
};

const encodedCache = new Map<string, Buffer>();

/** A recording (a WAV path) encoded by Debian's ffmpeg into `format`; cached per process. */
export const encodedSpeech = (format: EncodedFormat, source = `${POCKETSPHINX_TEST_DATA}/cards/001.wav`): Buffer => {
  const cacheKey = `${format}:${source}`;
  const cached = encodedCache.get(cacheKey);
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'interview-ops-encoded-'));
  try {
    const out = join(dir, `speech.${format}`);
    execFileSync('ffmpeg', ['-nostdin', '-v', 'error', '-i', source, '-fflags', '+bitexact', ...ENCODER_ARGS[format], out]);
    const bytes = readFileSync(out);
    encodedCache.set(cacheKey, bytes);
    return bytes;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

/** Seconds of a WAV file's audio, as sox reads it (independently of our probe). */
export const wavSeconds = (path: string): number => Number(execFileSync('soxi', ['-D', path], { encoding: 'utf8' }).trim());

/** Where each Ogg page of `ogg` starts, read from the page headers alone (a parser of its own, not the service's). */
export const oggPageStarts = (ogg: Uint8Array): number[] => {
  const starts: number[] = [];
  for (let at = 0; at < ogg.length; ) {
    if (String.fromCharCode(...ogg.subarray(at, at + 4)) !== 'OggS') throw new Error(`no Ogg page at byte ${at}`);
    starts.push(at);
    const count = ogg[at + 26]!;
    at += 27 + count + ogg.subarray(at + 27, at + 27 + count).reduce((sum, value) => sum + value, 0);
  }
  return starts;
};

/**
 * Cuts an Ogg Opus file as Firefox's MediaRecorder does with a timeslice: at page boundaries, the first
 * blob holding the OpusHead and OpusTags pages and the first audio pages, each later one only further
 * pages (same serial, granule positions and page numbers running on).
 */
export const firefoxBlobs = (ogg: Buffer, parts: number): Buffer[] => {
  const starts = oggPageStarts(ogg);
  // Pages 0 and 1 are the headers; the audio pages are shared out evenly.
  const audio = starts.slice(2);
  const cuts = Array.from({ length: parts - 1 }, (_, i) => audio[Math.floor(((i + 1) * audio.length) / parts)]!);
  return [0, ...cuts].map((from, i) => ogg.subarray(from, cuts[i] ?? ogg.length));
};
