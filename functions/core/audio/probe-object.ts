/**
 * Probes a stored audio object without loading it: a direct upload may be 500 MB, more than a Lambda
 * should hold. WAV is read from its header alone (the RIFF chunk list up to "data"); the other formats
 * keep what they need at their two ends (FLAC's STREAMINFO, Ogg's first and last pages), so probeAudio
 * reads the head and tail joined. Small objects are read whole.
 */
import { invalidInput, tooLarge } from '../errors';
import { type AudioFormat, type AudioProbe, audioFormatOf, probeAudio } from './probe';

/** How much of each end is read; an object up to twice this is read whole. */
export const PROBE_WINDOW_BYTES = 256 * 1024;

/**
 * WebM and MP4 are probed whole (their length is in every packet, or in a moov that may sit anywhere):
 * up to this size, which 4 hours of browser Opus or AAC stays under and a 1 GB Lambda can hold.
 */
export const MAX_WHOLE_PROBE_BYTES = 256 * 1024 * 1024;

export type ReadRange = (start: number, end: number) => Promise<Uint8Array>;

export const probeAudioObject = async (
  read: ReadRange,
  size: number,
  contentType: string,
  accepted: readonly AudioFormat[],
): Promise<AudioProbe> => {
  if (size <= 2 * PROBE_WINDOW_BYTES) return probeAudio(await read(0, size), contentType, accepted);
  const head = await read(0, PROBE_WINDOW_BYTES);
  if (audioFormatOf(contentType) === 'wav') {
    // probeAudio checks the type and the header's values; the header stands in for the whole file.
    const header = readWavHeader(head, size);
    const probe = probeAudio(header.stub, contentType, accepted);
    return { ...probe, duration: header.duration };
  }
  const format = audioFormatOf(contentType);
  if (format === 'webm' || format === 'mp4') {
    if (size > MAX_WHOLE_PROBE_BYTES) {
      throw tooLarge('Audio too large', `A ${contentType} chunk is probed whole: at most ${MAX_WHOLE_PROBE_BYTES} bytes`);
    }
    return probeAudio(await read(0, size), contentType, accepted);
  }
  const tail = await read(size - PROBE_WINDOW_BYTES, size);
  if (format === 'ogg') return probeOggEnds(head, tail, contentType, accepted);
  const joined = new Uint8Array(head.byteLength + tail.byteLength);
  joined.set(head);
  joined.set(tail, head.byteLength);
  return probeAudio(joined, contentType, accepted);
};

const ascii = (bytes: Uint8Array, start: number, length: number) => String.fromCharCode(...bytes.subarray(start, start + length));

/**
 * The WAV's fmt chunk and the length of its data, from the head of the file. `stub` is the same header
 * with one frame of silence as its data, which probeAudio can check as it checks any WAV.
 */
const readWavHeader = (head: Uint8Array, size: number): { stub: Uint8Array; duration: number } => {
  if (head.byteLength < 12 || ascii(head, 0, 4) !== 'RIFF' || ascii(head, 8, 4) !== 'WAVE') {
    throw invalidInput('Invalid audio', 'The body is not a readable WAV file');
  }
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let fmt: Uint8Array | undefined;
  for (let at = 12; at + 8 <= head.byteLength; ) {
    const id = ascii(head, at, 4);
    const length = view.getUint32(at + 4, true);
    if (id === 'fmt ') fmt = head.subarray(at, at + 8 + length);
    if (id === 'data') {
      if (!fmt || fmt.byteLength < 24) throw invalidInput('Invalid audio', 'The WAV file has no format chunk before its data');
      const fmtView = new DataView(fmt.buffer, fmt.byteOffset, fmt.byteLength);
      const sampleRate = fmtView.getUint32(12, true);
      const blockAlign = fmtView.getUint16(20, true);
      if (!(blockAlign > 0) || !(sampleRate > 0)) throw invalidInput('Invalid audio', 'The WAV header is inconsistent');
      const dataStart = at + 8;
      if (dataStart + length > size) throw invalidInput('Invalid audio', 'The WAV data chunk is truncated');
      const stub = new Uint8Array(12 + fmt.byteLength + 8 + blockAlign);
      const stubView = new DataView(stub.buffer);
      stub.set(head.subarray(0, 12));
      stubView.setUint32(4, stub.byteLength - 8, true);
      stub.set(fmt, 12);
      stub.set(new TextEncoder().encode('data'), 12 + fmt.byteLength);
      stubView.setUint32(12 + fmt.byteLength + 4, blockAlign, true);
      return { stub, duration: Math.floor(length / blockAlign) / sampleRate };
    }
    at += 8 + length + (length % 2);
  }
  throw invalidInput('Invalid audio', `The WAV header does not reach its data chunk within ${PROBE_WINDOW_BYTES} bytes`);
};

/** The Ogg pages wholly inside `bytes` from its start: a valid stream of its own. */
const completeOggPrefix = (bytes: Uint8Array): Uint8Array => {
  let at = 0;
  while (at + 27 <= bytes.byteLength && ascii(bytes, at, 4) === 'OggS') {
    const count = bytes[at + 26]!;
    if (at + 27 + count > bytes.byteLength) break;
    let length = 27 + count;
    for (let i = 0; i < count; i++) length += bytes[at + 27 + i]!;
    if (at + length > bytes.byteLength) break;
    at += length;
  }
  return bytes.subarray(0, at);
};

/**
 * Ogg Opus: the pages wholly inside the head, then the stream's last page (its granule position is the
 * length): together a valid stream that probeAudio reads as it reads any.
 */
const probeOggEnds = (head: Uint8Array, tail: Uint8Array, contentType: string, accepted: readonly AudioFormat[]): AudioProbe => {
  for (let at = tail.byteLength - 27; at >= 0; at--) {
    if (ascii(tail, at, 4) !== 'OggS') continue;
    const count = tail[at + 26]!;
    let length = 27 + count;
    for (let i = 0; i < count && at + 27 + i < tail.byteLength; i++) length += tail[at + 27 + i]!;
    if (at + length !== tail.byteLength) throw invalidInput('Invalid audio', 'The Ogg stream is truncated: its last page is cut off');
    const prefix = completeOggPrefix(head);
    const joined = new Uint8Array(prefix.byteLength + length);
    joined.set(prefix);
    joined.set(tail.subarray(at), prefix.byteLength);
    return probeAudio(joined, contentType, accepted);
  }
  throw invalidInput('Invalid audio', 'The Ogg stream has no page at its end');
};
