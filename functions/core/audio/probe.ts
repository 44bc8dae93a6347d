/**
 * Checks that uploaded bytes are audio of the declared type and reads what the service reports about
 * them (duration, rate, channels). Pure TypeScript: it runs inside Lambda. Recognizers decode in their
 * adapters (functions/adapters/transcriber).
 */
import wavefile from 'wavefile';
import { invalidInput, unsupportedMediaType } from '../errors';
import type { AudioExtension } from '../keys';
import { completeFragment, readMp4, startsWithFragment } from './mp4';
import { completeOggContinuation, isOggContinuation, oggOpusHeaderLength } from './ogg';
import { completeContinuation, readWebm, startsWithEbmlHeader } from './webm';

export type AudioFormat = 'wav' | 'flac' | 'ogg' | 'webm' | 'mp4';

export interface AudioProbe {
  format: AudioFormat;
  extension: AudioExtension;
  contentType: string;
  sampleRate: number;
  channels: number;
  /**
   * Seconds: exact for WAV and FLAC, from the last granule position for Ogg Opus, the Opus packets for
   * WebM, mdhd or the fragments' samples for MP4.
   */
  duration: number;
  /**
   * What later timeslice blobs of the same recording need, when these bytes begin a recording that
   * continues in headerless blobs: the WebM init segment, a fragmented MP4's ftyp + moov, or the Ogg
   * Opus header pages (OpusHead, OpusTags).
   */
  trackHeader: Uint8Array | null;
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
  'audio/webm': 'webm',
  'video/webm': 'webm',
  'audio/mp4': 'mp4',
  'audio/m4a': 'mp4',
  'audio/x-m4a': 'mp4',
  'video/mp4': 'mp4',
};

export const CANONICAL_MEDIA_TYPE: Record<AudioFormat, string> = {
  wav: 'audio/wav',
  flac: 'audio/flac',
  ogg: 'audio/ogg',
  webm: 'audio/webm',
  mp4: 'audio/mp4',
};

export const MIN_SAMPLE_RATE = 8000;
export const MAX_SAMPLE_RATE = 48000;

/** The format a Content-Type header names, or null when it names none we know. */
export const audioFormatOf = (contentType: string | undefined): AudioFormat | null => {
  const essence = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return MEDIA_TYPE_FORMATS[essence] ?? null;
};

/** The accepted format the Content-Type names; a 415 that lists the accepted types otherwise. */
export const acceptedFormatOf = (contentType: string | undefined, accepted: readonly AudioFormat[]): AudioFormat => {
  const format = audioFormatOf(contentType);
  if (!format || !accepted.includes(format)) {
    const names = accepted.map((f) => CANONICAL_MEDIA_TYPE[f]).join(', ');
    // On AWS, MP4 waits for batch transcription: streaming cannot read it.
    const why = format ? `${CANONICAL_MEDIA_TYPE[format]} cannot be transcribed by this deployment's recognizer; ` : '';
    throw unsupportedMediaType('Unsupported audio media type', `${why}Content-Type must be one of: ${names}`);
  }
  return format;
};

/**
 * True for a MediaRecorder timeslice blob after the first: WebM without its EBML header, MP4
 * fragments without ftyp/moov, or Ogg pages without the OpusHead (Firefox). It decodes only behind its
 * recording's track header.
 */
export const isContinuationBlob = (bytes: Uint8Array, format: AudioFormat): boolean =>
  bytes.length > 0 &&
  ((format === 'webm' && !startsWithEbmlHeader(bytes)) ||
    (format === 'mp4' && startsWithFragment(bytes)) ||
    (format === 'ogg' && isOggContinuation(bytes)));

/** A continuation blob behind its recording's track header: a whole file, ready for probeAudio. */
export const joinTrackHeader = (format: AudioFormat, trackHeader: Uint8Array, blob: Uint8Array): Uint8Array => {
  if (format === 'webm') return completeContinuation(trackHeader, blob);
  if (format === 'ogg') return completeOggContinuation(trackHeader, blob);
  return completeFragment(trackHeader, blob);
};

export const probeAudio = (bytes: Uint8Array, contentType: string | undefined, accepted: readonly AudioFormat[]): AudioProbe => {
  const format = acceptedFormatOf(contentType, accepted);
  if (bytes.length === 0) throw invalidInput('Invalid audio', 'The audio body is empty');
  const probe = PROBES[format](bytes);
  if (probe.sampleRate < MIN_SAMPLE_RATE || probe.sampleRate > MAX_SAMPLE_RATE) {
    throw invalidInput('Invalid audio', `Sample rate ${probe.sampleRate} Hz is outside ${MIN_SAMPLE_RATE}-${MAX_SAMPLE_RATE} Hz`);
  }
  if (probe.channels < 1 || probe.channels > 2) {
    throw invalidInput('Invalid audio', `Audio must be mono or stereo, not ${probe.channels} channels`);
  }
  // A fragmented MP4's first timeslice blob is its header alone: no samples yet, but what the next blobs need.
  if (!(probe.duration > 0) && !probe.trackHeader) throw invalidInput('Invalid audio', 'The audio holds no samples');
  return { ...probe, format, extension: format, contentType: CANONICAL_MEDIA_TYPE[format] };
};

type HeaderFacts = Pick<AudioProbe, 'sampleRate' | 'channels' | 'duration' | 'trackHeader'>;

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

export interface WavLayout extends Omit<HeaderFacts, 'trackHeader'> {
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
  return { sampleRate, channels, duration, trackHeader: null };
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
  return { sampleRate, channels, duration: totalSamples / sampleRate, trackHeader: null };
};

/**
 * Ogg Opus: the OpusHead packet gives channels, input rate and pre-skip; the last page's granule gives
 * the length at 48 kHz. Every page is walked, so a file cut inside a page is a 400, not a wrong length.
 */
const probeOgg = (bytes: Uint8Array): HeaderFacts => {
  if (bytes.length < 47 || ascii(bytes, 0, 4) !== 'OggS') throw invalidInput('Invalid audio', 'The body is not an Ogg stream');
  const segments = bytes[26]!;
  const head = 27 + segments;
  if (ascii(bytes, head, 8) !== 'OpusHead') throw invalidInput('Invalid audio', 'Only Ogg Opus audio is supported');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const channels = bytes[head + 9]!;
  const preSkip = view.getUint16(head + 10, true);
  const inputRate = view.getUint32(head + 12, true) || 48000;
  let granule = 0;
  for (let at = 0; at < bytes.length; ) {
    if (at + 27 > bytes.length || ascii(bytes, at, 4) !== 'OggS') {
      throw invalidInput('Invalid audio', `The Ogg stream is truncated or malformed at byte ${at}`);
    }
    const count = bytes[at + 26]!;
    let length = 27 + count;
    for (let i = 0; i < count && at + 27 + i < bytes.length; i++) length += bytes[at + 27 + i]!;
    if (at + length > bytes.length) throw invalidInput('Invalid audio', `The Ogg stream is truncated: its page at byte ${at} is cut off`);
    const pageGranule = view.getBigInt64(at + 6, true);
    // -1 marks a page on which no packet ends.
    if (pageGranule >= 0n) granule = Number(pageGranule);
    at += length;
  }
  // A recorder's later blobs (Firefox's timeslices) need the header pages.
  const headerLength = oggOpusHeaderLength(bytes);
  const trackHeader = headerLength === null ? null : bytes.slice(0, headerLength);
  return { sampleRate: inputRate, channels, duration: Math.max(0, granule - preSkip) / 48000, trackHeader };
};

/** WebM Opus: rate and channels from its track, the length from its packets; a recorder's first blob keeps its init segment. */
const probeWebm = (bytes: Uint8Array): HeaderFacts => {
  const webm = readWebm(bytes);
  return {
    sampleRate: webm.track.sampleRate,
    channels: webm.track.channels,
    duration: webm.duration,
    trackHeader: bytes.slice(0, webm.initSegmentLength),
  };
};

const probeMp4 = (bytes: Uint8Array): HeaderFacts => {
  const mp4 = readMp4(bytes);
  return {
    sampleRate: mp4.sampleRate,
    channels: mp4.channels,
    duration: mp4.duration,
    trackHeader: mp4.initSegmentLength === null ? null : bytes.slice(0, mp4.initSegmentLength),
  };
};

const PROBES: Record<AudioFormat, (bytes: Uint8Array) => HeaderFacts> = {
  wav: probeWav,
  flac: probeFlac,
  ogg: probeOgg,
  webm: probeWebm,
  mp4: probeMp4,
};
