/**
 * WAV decoding and conversion to what recognizers read: mono 16-bit PCM at a chosen rate. Resampling is
 * our own Kaiser-windowed sinc filter: wavefile's `toSampleRate` leaves aliases in the 4-8 kHz band the
 * acoustic model reads (test/adapters/transcriber/pcm.test.ts). Audio already in the target form passes
 * through bit for bit.
 */

import { readWav } from '../../core/audio/probe';
import { invalidInput } from '../../core/errors';

/** Samples as floats in [-1, 1), one channel. */
export interface MonoSignal {
  samples: Float64Array;
  sampleRate: number;
}

export interface Pcm16 {
  /** Little-endian signed 16-bit mono samples. */
  samples: Int16Array;
  sampleRate: number;
}

export interface DecodedWav {
  /** One Float64Array per channel, values in [-1, 1). */
  channels: Float64Array[];
  sampleRate: number;
  bitsPerSample: number;
  /** 1 integer PCM, 3 IEEE float. */
  formatCode: number;
  /** Seconds, exact: frames / rate. */
  duration: number;
}

const WAVE_FORMAT_PCM = 1;

type SampleReader = (view: DataView, offset: number) => number;

const SAMPLE_READERS: Record<string, SampleReader> = {
  '1:16': (view, at) => view.getInt16(at, true) / 0x8000,
  '1:24': (view, at) => (view.getUint8(at) | (view.getUint8(at + 1) << 8) | (view.getInt8(at + 2) << 16)) / 0x800000,
  '1:32': (view, at) => view.getInt32(at, true) / 0x80000000,
  '3:32': (view, at) => view.getFloat32(at, true),
  '3:64': (view, at) => view.getFloat64(at, true),
};

const wavData = (wave: ReturnType<typeof readWav>['wave']) => (wave.data as { chunkSize: number; samples: Uint8Array }).samples;

/** Decodes any PCM WAV that probe.ts accepts into per-channel floats. Bad bytes are a 400, never a crash. */
export const decodeWav = (bytes: Uint8Array): DecodedWav => {
  if (bytes.length === 0) throw invalidInput('Invalid audio', 'The audio is empty');
  const layout = readWav(bytes);
  const read = SAMPLE_READERS[`${layout.formatCode}:${layout.bitsPerSample}`];
  if (!read) throw invalidInput('Invalid audio', 'Unsupported WAV sample format');
  const data = wavData(layout.wave);
  const bytesPerSample = layout.bitsPerSample / 8;
  const frameBytes = bytesPerSample * layout.channels;
  const frames = Math.floor(data.length / frameBytes);
  if (frames === 0) throw invalidInput('Invalid audio', 'The audio holds no samples');
  const view = new DataView(data.buffer, data.byteOffset, frames * frameBytes);
  const channels = Array.from({ length: layout.channels }, () => new Float64Array(frames));
  for (let frame = 0; frame < frames; frame++) {
    const base = frame * frameBytes;
    for (let channel = 0; channel < layout.channels; channel++) {
      const value = read(view, base + channel * bytesPerSample);
      // NaN or infinite floats would poison the whole filter output.
      channels[channel]![frame] = Number.isFinite(value) ? value : 0;
    }
  }
  return {
    channels,
    sampleRate: layout.sampleRate,
    bitsPerSample: layout.bitsPerSample,
    formatCode: layout.formatCode,
    duration: frames / layout.sampleRate,
  };
};

/** The mean of the channels: what a mono recording of the same scene would hold. */
export const mixToMono = (channels: readonly Float64Array[]): Float64Array => {
  if (channels.length === 1) return channels[0]!;
  const frames = channels[0]!.length;
  const mono = new Float64Array(frames);
  for (const channel of channels) for (let i = 0; i < frames; i++) mono[i]! += channel[i]!;
  for (let i = 0; i < frames; i++) mono[i]! /= channels.length;
  return mono;
};

/** Zero crossings of the sinc on each side, and the Kaiser window's shape: about 90 dB of stopband. */
const ZERO_CROSSINGS = 32;
const KAISER_BETA = 8.6;
/** Passband edge as a share of the lower Nyquist frequency: 16 kHz output keeps 0-7.5 kHz flat. */
const ROLLOFF = 0.94;
const TABLE_STEPS_PER_CROSSING = 512;

const besselI0 = (x: number): number => {
  let sum = 1;
  let term = 1;
  for (let k = 1; k < 50; k++) {
    term *= (x / (2 * k)) ** 2;
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
};

/** The windowed sinc sampled finely over [0, ZERO_CROSSINGS], read with linear interpolation. */
const KERNEL_TABLE = (() => {
  const size = ZERO_CROSSINGS * TABLE_STEPS_PER_CROSSING + 2;
  const table = new Float64Array(size);
  const norm = besselI0(KAISER_BETA);
  for (let i = 0; i < size; i++) {
    const x = i / TABLE_STEPS_PER_CROSSING;
    if (x >= ZERO_CROSSINGS) continue;
    const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
    const ratio = x / ZERO_CROSSINGS;
    table[i] = (sinc * besselI0(KAISER_BETA * Math.sqrt(1 - ratio * ratio))) / norm;
  }
  return table;
})();

const kernelAt = (x: number): number => {
  const position = Math.abs(x) * TABLE_STEPS_PER_CROSSING;
  const index = Math.floor(position);
  if (index >= KERNEL_TABLE.length - 1) return 0;
  const fraction = position - index;
  return KERNEL_TABLE[index]! + (KERNEL_TABLE[index + 1]! - KERNEL_TABLE[index]!) * fraction;
};

/** Band-limited resampling to `toRate`; the band above the lower Nyquist frequency is removed, not folded. */
export const resample = (samples: Float64Array, fromRate: number, toRate: number): Float64Array => {
  if (fromRate === toRate) return samples;
  const outLength = Math.round((samples.length * toRate) / fromRate);
  const out = new Float64Array(outLength);
  // Below 1 when decimating: the kernel stretches so its cutoff sits under the output's Nyquist frequency.
  const scale = Math.min(1, toRate / fromRate) * ROLLOFF;
  const halfWidth = ZERO_CROSSINGS / scale;
  const step = fromRate / toRate;
  for (let n = 0; n < outLength; n++) {
    const center = n * step;
    const first = Math.max(0, Math.ceil(center - halfWidth));
    const last = Math.min(samples.length - 1, Math.floor(center + halfWidth));
    let sum = 0;
    let weight = 0;
    for (let k = first; k <= last; k++) {
      const w = kernelAt((k - center) * scale);
      sum += samples[k]! * w;
      weight += w;
    }
    // Dividing by the summed weights keeps DC gain exactly 1, also near the ends where the kernel is cut.
    out[n] = weight > 0 ? sum / weight : 0;
  }
  return out;
};

/** Rounds floats to 16-bit integers, clipping what would overflow. */
export const toInt16 = (samples: Float64Array): Int16Array => {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const scaled = Math.round(samples[i]! * 0x8000);
    out[i] = Math.min(0x7fff, Math.max(-0x8000, scaled));
  }
  return out;
};

/** Any accepted PCM WAV as 16-bit mono at `sampleRate` (its own rate when omitted). */
export const wavToPcm16Mono = (bytes: Uint8Array, sampleRate?: number): Pcm16 & { duration: number } => {
  const layout = readWav(bytes);
  const targetRate = sampleRate ?? layout.sampleRate;
  if (layout.formatCode === WAVE_FORMAT_PCM && layout.bitsPerSample === 16 && layout.channels === 1 && layout.sampleRate === targetRate) {
    // Already what the recognizer reads: hand over the exact samples.
    const data = wavData(layout.wave);
    const frames = Math.floor(data.length / 2);
    if (frames === 0) throw invalidInput('Invalid audio', 'The audio holds no samples');
    const samples = new Int16Array(frames);
    const view = new DataView(data.buffer, data.byteOffset, frames * 2);
    for (let i = 0; i < frames; i++) samples[i] = view.getInt16(i * 2, true);
    return { samples, sampleRate: targetRate, duration: frames / layout.sampleRate };
  }
  const decoded = decodeWav(bytes);
  const mono = mixToMono(decoded.channels);
  return { samples: toInt16(resample(mono, decoded.sampleRate, targetRate)), sampleRate: targetRate, duration: decoded.duration };
};

/** Raw little-endian bytes of 16-bit samples, as recognizers and Transcribe read them. */
export const int16LittleEndianBytes = (samples: Int16Array): Uint8Array => {
  const bytes = new Uint8Array(samples.length * 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < samples.length; i++) view.setInt16(i * 2, samples[i]!, true);
  return bytes;
};

/** 16-bit little-endian PCM (headerless, as pocketsphinx's raw recordings are) wrapped in a WAV file. */
export const pcm16ToWav = (pcm: Uint8Array, sampleRate: number, channels = 1): Buffer => {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + pcm.length, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * channels * 2, 28);
  header.writeUInt16LE(channels * 2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(pcm.length, 40);
  return Buffer.concat([header, pcm]);
};
