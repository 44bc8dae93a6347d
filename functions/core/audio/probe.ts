/**
 * Checks that uploaded bytes are audio of the declared type and reads what the service reports about
 * them (duration, rate, channels). Full decoding for recognition lives in ./pcm.ts.
 */
import wavefile from 'wavefile';
import { invalidInput, unsupportedMediaType } from '../errors';
import type { AudioExtension } from '../keys';

export type AudioFormat = 'wav' | 'flac' | 'ogg';

export interface AudioProbe {
  format: AudioFormat;
  extension: AudioExtension;
  contentType: string;
  sampleRate: number;
  channels: number;
  /** Seconds, from the header: exact for WAV and FLAC, from the last granule position for Ogg Opus. */
  duration: number;
}

/** Media types by canonical name; aliases browsers and tools send map onto them. */
const MEDIA_TYPE_FORMATS: Record<string, AudioFormat> = {
  'audio/wav': 'wav',
  'audio/wave': 'wav',
  'audio/x-wav': 'wav',
  'audio/vnd.wave': 'wav',
  'audio/flac': 'flac',
  'audio/x-flac': 'flac',
  'audio/ogg': 'ogg',
  'audio/opus': 'ogg',
};

export const CANONICAL_MEDIA_TYPE: Record<AudioFormat, string> = {
  wav: 'audio/wav',
  flac: 'audio/flac',
  ogg: 'audio/ogg',
};

export const MIN_SAMPLE_RATE = 8000;
export const MAX_SAMPLE_RATE = 48000;

/** The format a Content-Type header names, or null when it names none we know. */
export const audioFormatOf = (contentType: string | undefined): AudioFormat | null => {
  const essence = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return MEDIA_TYPE_FORMATS[essence] ?? null;
};

export const probeAudio = (bytes: Uint8Array, contentType: string | undefined, accepted: readonly AudioFormat[]): AudioProbe => {
  const format = audioFormatOf(contentType);
  if (!format || !accepted.includes(format)) {
    const names = accepted.map((f) => CANONICAL_MEDIA_TYPE[f]).join(', ');
    throw unsupportedMediaType('Unsupported audio media type', `Content-Type must be one of: ${names}`);
  }
  if (bytes.length === 0) throw invalidInput('Invalid audio', 'The audio body is empty');
  const probe = format === 'wav' ? probeWav(bytes) : format === 'flac' ? probeFlac(bytes) : probeOgg(bytes);
  if (probe.sampleRate < MIN_SAMPLE_RATE || probe.sampleRate > MAX_SAMPLE_RATE) {
    throw invalidInput('Invalid audio', `Sample rate ${probe.sampleRate} Hz is outside ${MIN_SAMPLE_RATE}-${MAX_SAMPLE_RATE} Hz`);
  }
  if (probe.channels < 1 || probe.channels > 2) {
    throw invalidInput('Invalid audio', `Audio must be mono or stereo, not ${probe.channels} channels`);
  }
  if (!(probe.duration > 0)) throw invalidInput('Invalid audio', 'The audio holds no samples');
  return { ...probe, format, extension: format, contentType: CANONICAL_MEDIA_TYPE[format] };
};

type HeaderFacts = Pick<AudioProbe, 'sampleRate' | 'channels' | 'duration'>;

const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_IEEE_FLOAT = 3;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

/** Integer or float PCM that the transcribers' decoder (adapters/transcriber/pcm.ts) reads, by (format code, bits). */
const SUPPORTED_WAV_SAMPLES = new Set([
  `${WAVE_FORMAT_PCM}:16`,
  `${WAVE_FORMAT_PCM}:24`,
  `${WAVE_FORMAT_PCM}:32`,
  `${WAVE_FORMAT_IEEE_FLOAT}:32`,
  `${WAVE_FORMAT_IEEE_FLOAT}:64`,
]);

export interface WavLayout extends HeaderFacts {
  formatCode: number;
  bitsPerSample: number;
  wave: InstanceType<typeof wavefile.WaveFile>;
}

export const readWav = (bytes: Uint8Array): WavLayout => {
  let wave: InstanceType<typeof wavefile.WaveFile>;
  try {
    wave = new wavefile.WaveFile(bytes);
  } catch {
    throw invalidInput('Invalid audio', 'The body is not a readable WAV file');
  }
  const fmt = wave.fmt as { audioFormat: number; numChannels: number; sampleRate: number; bitsPerSample: number; blockAlign: number };
  const data = wave.data as { chunkSize: number; samples: Uint8Array };
  const formatCode = fmt.audioFormat === WAVE_FORMAT_EXTENSIBLE ? extensibleSubFormat(wave) : fmt.audioFormat;
  if (!SUPPORTED_WAV_SAMPLES.has(`${formatCode}:${fmt.bitsPerSample}`)) {
    throw invalidInput(
      'Invalid audio',
      `Unsupported WAV sample format (code ${formatCode}, ${fmt.bitsPerSample}-bit): use 16/24/32-bit integer or 32/64-bit float PCM`,
    );
  }
  if (data.samples.length < data.chunkSize) throw invalidInput('Invalid audio', 'The WAV data chunk is truncated');
  const bytesPerFrame = fmt.numChannels * (fmt.bitsPerSample / 8);
  if (!(bytesPerFrame > 0)) throw invalidInput('Invalid audio', 'The WAV header is inconsistent');
  return {
    wave,
    formatCode,
    bitsPerSample: fmt.bitsPerSample,
    sampleRate: fmt.sampleRate,
    channels: fmt.numChannels,
    duration: Math.floor(data.chunkSize / bytesPerFrame) / fmt.sampleRate,
  };
};

const extensibleSubFormat = (wave: InstanceType<typeof wavefile.WaveFile>): number => {
  const subformat = (wave.fmt as { subformat?: number[] }).subformat;
  // The first field of the SubFormat GUID is the plain format code.
  return subformat?.[0] ?? -1;
};

const probeWav = (bytes: Uint8Array): HeaderFacts => {
  const { sampleRate, channels, duration } = readWav(bytes);
  return { sampleRate, channels, duration };
};

const ascii = (bytes: Uint8Array, start: number, length: number) => String.fromCharCode(...bytes.subarray(start, start + length));

/** FLAC: the mandatory STREAMINFO block right after the "fLaC" marker holds rate, channels and total samples. */
const probeFlac = (bytes: Uint8Array): HeaderFacts => {
  if (bytes.length < 42 || ascii(bytes, 0, 4) !== 'fLaC' || (bytes[4]! & 0x7f) !== 0) {
    throw invalidInput('Invalid audio', 'The body is not a FLAC stream');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const info = 8; // marker (4) + metadata block header (4)
  const sampleRate = (view.getUint32(info + 10) >>> 12) & 0xfffff;
  const channels = ((bytes[info + 12]! >> 1) & 0x07) + 1;
  const totalSamples = (bytes[info + 13]! & 0x0f) * 2 ** 32 + view.getUint32(info + 14);
  if (sampleRate === 0 || totalSamples === 0) throw invalidInput('Invalid audio', 'The FLAC stream declares no samples');
  return { sampleRate, channels, duration: totalSamples / sampleRate };
};

/** Ogg Opus: the OpusHead packet gives channels, input rate and pre-skip; the last page's granule gives length at 48 kHz. */
const probeOgg = (bytes: Uint8Array): HeaderFacts => {
  if (bytes.length < 47 || ascii(bytes, 0, 4) !== 'OggS') throw invalidInput('Invalid audio', 'The body is not an Ogg stream');
  const segments = bytes[26]!;
  const head = 27 + segments;
  if (ascii(bytes, head, 8) !== 'OpusHead') throw invalidInput('Invalid audio', 'Only Ogg Opus audio is supported');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const channels = bytes[head + 9]!;
  const preSkip = view.getUint16(head + 10, true);
  const inputRate = view.getUint32(head + 12, true) || 48000;
  let lastPage = -1;
  for (let at = bytes.length - 27; at >= 0; at--) {
    if (bytes[at] === 0x4f && ascii(bytes, at, 4) === 'OggS') {
      lastPage = at;
      break;
    }
  }
  const granule = Number(view.getBigInt64(lastPage + 6, true));
  return { sampleRate: inputRate, channels, duration: Math.max(0, granule - preSkip) / 48000 };
};
