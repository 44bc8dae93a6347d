/**
 * WebM (Matroska) audio as MediaRecorder writes it: an EBML header, a Segment of unknown size holding
 * Info and Tracks (the init segment), then Clusters of unknown size holding SimpleBlocks of Opus packets.
 * With `start(timeslice)` Chromium cuts its output between writes, not between elements: a continuation
 * blob may begin with the size of an element whose ID ended the previous blob, and end with a lone ID.
 * This module reads such files and blobs and rebuilds a continuation into a complete file behind its
 * track's init segment, so every later step (probing, ffmpeg, the Ogg remux) reads an ordinary WebM.
 */
import { invalidInput } from '../errors';
import { opusPacketSamples } from './opus';

export const EBML_ID = 0x1a45dfa3;
const SEGMENT_ID = 0x18538067;
export const CLUSTER_ID = 0x1f43b675;
const TRACKS_ID = 0x1654ae6b;
const TRACK_ENTRY_ID = 0xae;
const CODEC_ID = 0x86;
const CODEC_PRIVATE_ID = 0x63a2;
const AUDIO_ID = 0xe1;
const SAMPLING_FREQUENCY_ID = 0xb5;
const CHANNELS_ID = 0x9f;
const TRACK_NUMBER_ID = 0xd7;
const TIMECODE_ID = 0xe7;
const SIMPLE_BLOCK_ID = 0xa3;
const BLOCK_GROUP_ID = 0xa0;
const BLOCK_ID = 0xa1;

/** Elements whose children are walked in place; others are skipped whole. */
const MASTERS = new Set([SEGMENT_ID, CLUSTER_ID, TRACKS_ID, TRACK_ENTRY_ID, AUDIO_ID, BLOCK_GROUP_ID]);
/** IDs whose first byte ends a Chromium blob often enough to try when a continuation starts headless. */
const CUT_IDS = [SIMPLE_BLOCK_ID, CLUSTER_ID, TIMECODE_ID, BLOCK_GROUP_ID];

interface ElementHeader {
  id: number;
  /** null: unknown size (live streams), the element runs to the next sibling or parent-level ID. */
  size: number | null;
  headerLength: number;
}

const vintLength = (first: number): number => {
  for (let length = 1; length <= 8; length++) if (first & (0x80 >> (length - 1))) return length;
  return 0;
};

/** An element's ID and size at `at`, or null when the bytes end inside its header or it is not EBML. */
const readHeader = (bytes: Uint8Array, at: number): ElementHeader | null => {
  const idLength = vintLength(bytes[at] ?? 0);
  if (idLength === 0 || idLength > 4 || at + idLength >= bytes.length) return null;
  let id = 0;
  for (let i = 0; i < idLength; i++) id = id * 256 + bytes[at + i]!;
  const sizeAt = at + idLength;
  const sizeLength = vintLength(bytes[sizeAt]!);
  if (sizeLength === 0 || sizeAt + sizeLength > bytes.length) return null;
  let size = bytes[sizeAt]! & ((0x80 >> (sizeLength - 1)) - 1);
  let allOnes = size === (0x80 >> (sizeLength - 1)) - 1;
  for (let i = 1; i < sizeLength; i++) {
    const byte = bytes[sizeAt + i]!;
    allOnes &&= byte === 0xff;
    size = size * 256 + byte;
  }
  return { id, size: allOnes ? null : size, headerLength: idLength + sizeLength };
};

export interface WebmElement {
  id: number;
  /** Offset of the element's ID. */
  start: number;
  /** Offset of its data. */
  dataStart: number;
  /** Offset after its data; for masters of unknown size, the data start. */
  end: number;
}

export class WebmError extends Error {}

/**
 * Every element in document order, masters entered rather than skipped. Throws WebmError when an
 * element's header is not EBML or its data runs past the end. A lone ID at the very end (what Chromium
 * wrote before cutting the blob) is ignored.
 */
export const walkElements = (bytes: Uint8Array, from = 0): WebmElement[] => {
  const elements: WebmElement[] = [];
  let at = from;
  while (at < bytes.length) {
    const header = readHeader(bytes, at);
    if (!header) {
      // A lone ID at the end: the next element's first write, which the next blob continues.
      if (bytes.length - at <= 4 && vintLength(bytes[at]!) > 0) break;
      throw new WebmError(`no EBML element at byte ${at}`);
    }
    const dataStart = at + header.headerLength;
    if (MASTERS.has(header.id)) {
      elements.push({ id: header.id, start: at, dataStart, end: header.size === null ? dataStart : dataStart + header.size });
      at = dataStart;
      continue;
    }
    if (header.size === null) throw new WebmError(`element ${header.id.toString(16)} has no size`);
    const end = dataStart + header.size;
    if (end > bytes.length) throw new WebmError(`element ${header.id.toString(16)} at byte ${at} is cut off`);
    elements.push({ id: header.id, start: at, dataStart, end });
    at = end;
  }
  return elements;
};

const readUint = (bytes: Uint8Array, element: WebmElement): number => {
  let value = 0;
  for (let i = element.dataStart; i < element.end; i++) value = value * 256 + bytes[i]!;
  return value;
};

const readFloat = (bytes: Uint8Array, element: WebmElement): number => {
  const length = element.end - element.dataStart;
  if (length !== 4 && length !== 8) throw invalidInput('Invalid audio', 'The WebM track has a malformed sampling frequency');
  const view = new DataView(bytes.buffer, bytes.byteOffset + element.dataStart, length);
  return length === 4 ? view.getFloat32(0) : view.getFloat64(0);
};

export interface WebmTrack {
  trackNumber: number;
  codecId: string;
  /** Opus: the OpusHead the Ogg remux writes as its first packet. */
  codecPrivate: Uint8Array | null;
  sampleRate: number;
  channels: number;
}

export interface WebmPacket {
  /** The Opus packet, a view into the file's bytes. */
  data: Uint8Array;
  /** Samples at 48 kHz, from the packet's TOC byte. */
  samples: number;
}

export interface WebmFile {
  track: WebmTrack;
  /** Bytes before the first Cluster: EBML header, Segment header, Info, Tracks. */
  initSegmentLength: number;
  packets: WebmPacket[];
  /** Seconds: the packets' summed lengths. */
  duration: number;
}

const ascii = (bytes: Uint8Array, element: WebmElement) => String.fromCharCode(...bytes.subarray(element.dataStart, element.end));

const invalid = (detail: string) => invalidInput('Invalid audio', detail);

/** Reads a complete WebM (init segment and clusters): its audio track and Opus packets. */
export const readWebm = (bytes: Uint8Array): WebmFile => {
  if (readHeader(bytes, 0)?.id !== EBML_ID) throw invalid('The body is not a WebM file (no EBML header)');
  let elements: WebmElement[];
  try {
    elements = walkElements(bytes);
  } catch (error) {
    throw invalid(`The WebM file is malformed or truncated: ${(error as Error).message}`);
  }
  if (!elements.some((element) => element.id === SEGMENT_ID)) throw invalid('The WebM file has no Segment');
  const track = readTrack(bytes, elements);
  const firstCluster = elements.find((element) => element.id === CLUSTER_ID);
  const packets = readPackets(bytes, elements, track.trackNumber);
  const samples = packets.reduce((sum, packet) => sum + packet.samples, 0);
  return { track, initSegmentLength: firstCluster?.start ?? bytes.length, packets, duration: samples / 48000 };
};

const readTrack = (bytes: Uint8Array, elements: WebmElement[]): WebmTrack => {
  const entryIndex = elements.findIndex((element) => element.id === TRACK_ENTRY_ID);
  if (entryIndex < 0) throw invalid('The WebM file has no audio track (no Tracks element before its first Cluster)');
  const entry = elements[entryIndex]!;
  const inside = elements.slice(entryIndex + 1).filter((element) => element.start < entry.end);
  const find = (id: number) => inside.find((element) => element.id === id);
  const codec = find(CODEC_ID);
  const codecId = codec ? ascii(bytes, codec) : '';
  if (codecId !== 'A_OPUS') throw invalid(`Only Opus audio in WebM is supported, not ${codecId || 'an unnamed codec'}`);
  const privateData = find(CODEC_PRIVATE_ID);
  const rate = find(SAMPLING_FREQUENCY_ID);
  const channels = find(CHANNELS_ID);
  const number = find(TRACK_NUMBER_ID);
  return {
    trackNumber: number ? readUint(bytes, number) : 1,
    codecId,
    codecPrivate: privateData ? bytes.slice(privateData.dataStart, privateData.end) : null,
    sampleRate: rate ? Math.round(readFloat(bytes, rate)) : 48000,
    channels: channels ? readUint(bytes, channels) : 1,
  };
};

const readPackets = (bytes: Uint8Array, elements: WebmElement[], trackNumber: number): WebmPacket[] => {
  const packets: WebmPacket[] = [];
  for (const element of elements) {
    if (element.id !== SIMPLE_BLOCK_ID && element.id !== BLOCK_ID) continue;
    const header = vintLength(bytes[element.dataStart] ?? 0);
    if (header === 0 || header > 4) throw invalid(`A WebM block at byte ${element.start} names no track`);
    let track = bytes[element.dataStart]! & ((0x80 >> (header - 1)) - 1);
    for (let i = 1; i < header; i++) track = track * 256 + bytes[element.dataStart + i]!;
    if (track !== trackNumber) continue;
    const flagsAt = element.dataStart + header + 2;
    if (flagsAt >= element.end) throw invalid(`A WebM block at byte ${element.start} is cut off`);
    if ((bytes[flagsAt]! & 0x06) !== 0) throw invalid('Laced WebM blocks are not supported');
    const data = bytes.subarray(flagsAt + 1, element.end);
    const samples = opusPacketSamples(data);
    if (samples === null) throw invalid(`A WebM block at byte ${element.start} does not hold an Opus packet`);
    packets.push({ data, samples });
  }
  return packets;
};

/** A Cluster of unknown size whose Timecode is `timecode`, as MediaRecorder writes them. */
const clusterHeader = (timecode: number): Uint8Array => {
  const value = Math.max(0, Math.round(timecode));
  const timecodeBytes: number[] = [];
  for (let rest = value; timecodeBytes.length === 0 || rest > 0; rest = Math.floor(rest / 256)) timecodeBytes.unshift(rest % 256);
  return Uint8Array.from([
    0x1f,
    0x43,
    0xb6,
    0x75,
    0x01,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    TIMECODE_ID,
    0x80 | timecodeBytes.length,
    ...timecodeBytes,
  ]);
};

const concat = (parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
};

const parsesAsElements = (bytes: Uint8Array): WebmElement[] | null => {
  try {
    const elements = walkElements(bytes);
    return elements.length > 0 ? elements : null;
  } catch {
    return null;
  }
};

/**
 * A blob that continues a track (no EBML header) made whole: the track's init segment, then the blob
 * with the ID Chromium cut off restored, and the blocks before its first Cluster (the tail of the
 * previous blob's cluster) put in a Cluster of their own whose timecode runs on into the next one.
 */
export const completeContinuation = (initSegment: Uint8Array, blob: Uint8Array): Uint8Array => {
  let body: Uint8Array | null = null;
  let elements: WebmElement[] | null = parsesAsElements(blob);
  if (elements) body = blob;
  for (const id of CUT_IDS) {
    if (body) break;
    const idBytes = id > 0xffffff ? [id >>> 24, (id >>> 16) & 0xff, (id >>> 8) & 0xff, id & 0xff] : [id];
    const candidate = concat([Uint8Array.from(idBytes), blob]);
    elements = parsesAsElements(candidate);
    if (elements) body = candidate;
  }
  if (!body || !elements) throw invalid('The blob is neither a WebM file nor a WebM continuation of Clusters and blocks');
  // Drop the lone ID at the end, which belongs to the next blob.
  body = body.subarray(0, Math.max(...elements.map((element) => element.end)));
  const firstCluster = elements.findIndex((element) => element.id === CLUSTER_ID);
  const leading = elements.slice(0, firstCluster < 0 ? elements.length : firstCluster);
  if (leading.length === 0) return concat([initSegment, body]);
  // The orphan blocks' relative timecodes count from a Cluster in the previous blob; pick the base that
  // ends them where the next Cluster begins (or at 0 when none follows).
  const nextTimecodeElement = firstCluster < 0 ? undefined : elements.slice(firstCluster).find((element) => element.id === TIMECODE_ID);
  const lastBlock = [...leading].reverse().find((element) => element.id === SIMPLE_BLOCK_ID);
  let base = 0;
  if (nextTimecodeElement && lastBlock && lastBlock.end - lastBlock.dataStart > vintLength(body[lastBlock.dataStart]!) + 3) {
    const next = readUint(body, nextTimecodeElement);
    const trackLength = vintLength(body[lastBlock.dataStart]!);
    const view = new DataView(body.buffer, body.byteOffset + lastBlock.dataStart + trackLength, 2);
    const relative = view.getInt16(0);
    const lastPacket = body.subarray(lastBlock.dataStart + trackLength + 3, lastBlock.end);
    const lastMs = (opusPacketSamples(lastPacket) ?? 960) / 48;
    base = Math.max(0, next - relative - lastMs);
  }
  return concat([initSegment, clusterHeader(base), body]);
};

/** The init segment of a complete WebM: what a later continuation blob of the same track needs. */
export const webmInitSegment = (bytes: Uint8Array): Uint8Array => bytes.slice(0, readWebm(bytes).initSegmentLength);

/** True when the bytes start with an EBML header: a file or a recorder's first blob, not a continuation. */
export const startsWithEbmlHeader = (bytes: Uint8Array): boolean =>
  bytes.length >= 4 && bytes[0] === 0x1a && bytes[1] === 0x45 && bytes[2] === 0xdf && bytes[3] === 0xa3;
