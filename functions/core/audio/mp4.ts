/**
 * MP4 audio (ISO BMFF) as Safari records it (AAC, `moov` then `mdat`) and as Chromium does with a
 * timeslice (fragmented: an init segment of `ftyp` + `moov` alone, then `moof` + `mdat` per blob).
 * Reads rate and channels from the sample entry (`mp4a` with its `esds`, or `Opus` with its `dOps`)
 * and the length from `mdhd`, or for fragments from the `trun` sample durations.
 */
import { invalidInput } from '../errors';

interface Box {
  type: string;
  start: number;
  /** Offset of the box's content, after its header. */
  dataStart: number;
  end: number;
}

const CONTAINERS = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl', 'mvex', 'moof', 'traf', 'edts']);

const invalid = (detail: string) => invalidInput('Invalid audio', detail);

const typeAt = (bytes: Uint8Array, at: number) => String.fromCharCode(...bytes.subarray(at, at + 4));

/** The boxes between `from` and `to`, containers entered; throws 400 for a box that runs past its parent. */
const walkBoxes = (bytes: Uint8Array, view: DataView, from: number, to: number, out: Box[] = []): Box[] => {
  let at = from;
  while (at < to) {
    if (to - at < 8) throw invalid(`The MP4 file is truncated: ${to - at} stray bytes at ${at}`);
    let size = view.getUint32(at);
    const type = typeAt(bytes, at + 4);
    let header = 8;
    if (size === 1) {
      if (to - at < 16) throw invalid('The MP4 file is truncated inside a box header');
      size = Number(view.getBigUint64(at + 8));
      header = 16;
    } else if (size === 0) {
      size = to - at;
    }
    if (size < header || at + size > to) throw invalid(`The MP4 file is truncated or malformed: its "${type}" box runs past the end`);
    const box = { type, start: at, dataStart: at + header, end: at + size };
    out.push(box);
    if (CONTAINERS.has(type)) walkBoxes(bytes, view, box.dataStart, box.end, out);
    at += size;
  }
  return out;
};

export interface Mp4Audio {
  codec: 'aac' | 'opus';
  sampleRate: number;
  channels: number;
  /** Seconds: `mdhd` for whole files, the fragments' samples for fragmented ones. */
  duration: number;
  /** Bytes of `ftyp` + `moov` when the file is fragmented: what its continuation blobs need. */
  initSegmentLength: number | null;
}

const viewOf = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** True when the bytes begin with a box a fragmented continuation starts with. */
export const startsWithFragment = (bytes: Uint8Array): boolean =>
  bytes.length >= 8 && ['moof', 'styp', 'sidx', 'emsg', 'prft'].includes(typeAt(bytes, 4));

export const readMp4 = (bytes: Uint8Array): Mp4Audio => {
  if (bytes.length < 8 || !['ftyp', 'moov', 'styp', 'free', 'wide', 'mdat'].includes(typeAt(bytes, 4))) {
    throw invalid('The body is not an MP4 file (no ftyp or moov box first)');
  }
  const view = viewOf(bytes);
  const boxes = walkBoxes(bytes, view, 0, bytes.length);
  const moov = boxes.find((box) => box.type === 'moov');
  if (!moov) throw invalid('The MP4 file has no moov box (the header with its tracks)');
  const inMoov = boxes.filter((box) => box.start >= moov.start && box.end <= moov.end);
  const stsd = inMoov.find((box) => box.type === 'stsd');
  const mdhd = inMoov.find((box) => box.type === 'mdhd');
  if (!stsd || !mdhd) throw invalid('The MP4 file has no audio track (no stsd or mdhd box)');
  const entry = sampleEntry(bytes, view, stsd);
  const version = bytes[mdhd.dataStart]!;
  if (mdhd.end - mdhd.dataStart < (version === 1 ? 32 : 20)) throw invalid('The MP4 mdhd box is truncated');
  const timescale = view.getUint32(mdhd.dataStart + (version === 1 ? 20 : 12));
  const mdhdDuration = version === 1 ? Number(view.getBigUint64(mdhd.dataStart + 24)) : view.getUint32(mdhd.dataStart + 16);
  if (timescale === 0) throw invalid('The MP4 track has no timescale');
  const trex = inMoov.find((box) => box.type === 'trex');
  if (trex && trex.end - trex.dataStart < 16) throw invalid('The MP4 trex box is truncated');
  const fragmented = trex !== undefined || boxes.some((box) => box.type === 'moof');
  const defaultDuration = trex ? view.getUint32(trex.dataStart + 12) : 0;
  const fragmentTicks = fragmentDurations(view, boxes, defaultDuration);
  const duration = (fragmented ? fragmentTicks : mdhdDuration === 0xffffffff ? 0 : mdhdDuration) / timescale;
  if (!fragmented && !boxes.some((box) => box.type === 'mdat')) throw invalid('The MP4 file has no mdat box (no audio data)');
  return { ...entry, duration, initSegmentLength: fragmented ? moov.end : null };
};

/** Ticks in the `moof` boxes, as `trun` sample durations or the `tfhd`/`trex` default. */
const fragmentDurations = (view: DataView, boxes: Box[], trexDefault: number): number => {
  let ticks = 0;
  let defaultDuration = trexDefault;
  for (const box of boxes) {
    if (box.type !== 'tfhd' && box.type !== 'trun') continue;
    if (box.end - box.dataStart < 8) throw invalid(`The MP4 fragment's ${box.type} box is truncated`);
    const flags = view.getUint32(box.dataStart) & 0xffffff;
    if (box.type === 'tfhd') {
      // base-data-offset (0x1) and sample-description-index (0x2) come before the default duration.
      const at = box.dataStart + 8 + (flags & 0x1 ? 8 : 0) + (flags & 0x2 ? 4 : 0);
      if (flags & 0x8 && at + 4 > box.end) throw invalid('The MP4 fragment is truncated: its tfhd box is cut short');
      defaultDuration = flags & 0x8 ? view.getUint32(at) : trexDefault;
    } else {
      const count = view.getUint32(box.dataStart + 4);
      let at = box.dataStart + 8 + (flags & 0x1 ? 4 : 0) + (flags & 0x4 ? 4 : 0);
      const perSample = [0x100, 0x200, 0x400, 0x800].filter((bit) => flags & bit).length * 4;
      if (at + count * perSample > box.end) throw invalid('The MP4 fragment is truncated: its trun box lists more samples than it holds');
      for (let i = 0; i < count; i++, at += perSample) ticks += flags & 0x100 ? view.getUint32(at) : defaultDuration;
    }
  }
  return ticks;
};

const sampleEntry = (bytes: Uint8Array, view: DataView, stsd: Box): Pick<Mp4Audio, 'codec' | 'sampleRate' | 'channels'> => {
  // stsd: version/flags (4), entry count (4), then the first entry: size (4), format (4), reserved (6), index (2).
  const entry = stsd.dataStart + 8;
  if (entry + 36 > stsd.end) throw invalid('The MP4 sample description is truncated');
  const format = typeAt(bytes, entry + 4);
  const channels = view.getUint16(entry + 24);
  const sampleRate = view.getUint32(entry + 32) >>> 16;
  const children = walkBoxes(bytes, view, entry + 36, Math.min(stsd.end, entry + view.getUint32(entry)));
  if (format === 'mp4a') {
    const esds = children.find((box) => box.type === 'esds');
    if (!esds) throw invalid('The MP4 AAC track has no esds box');
    const config = aacConfigFromEsds(bytes, esds);
    // Encoders write 2 in the entry's channel count whatever the stream holds; the AAC config says what it does.
    return { codec: 'aac', sampleRate: config?.sampleRate ?? sampleRate, channels: config?.channels || channels };
  }
  if (format === 'Opus') {
    const dOps = children.find((box) => box.type === 'dOps');
    if (dOps && dOps.end - dOps.dataStart >= 8)
      return { codec: 'opus', sampleRate: view.getUint32(dOps.dataStart + 4) || 48000, channels: bytes[dOps.dataStart + 1]! };
    return { codec: 'opus', sampleRate: 48000, channels };
  }
  throw invalid(`Only AAC or Opus audio in MP4 is supported, not "${format}"`);
};

const AAC_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

/** The AudioSpecificConfig's rate and channels, inside the esds descriptors (tag 5, DecoderSpecificInfo). */
const aacConfigFromEsds = (bytes: Uint8Array, esds: Box): { sampleRate: number | undefined; channels: number } | null => {
  for (let at = esds.dataStart + 4; at < esds.end - 2; at++) {
    if (bytes[at] !== 0x05) continue;
    let length = 0;
    let cursor = at + 1;
    for (let i = 0; i < 4 && cursor < esds.end; i++) {
      const byte = bytes[cursor++]!;
      length = (length << 7) | (byte & 0x7f);
      if (!(byte & 0x80)) break;
    }
    if (length < 2 || cursor + 2 > esds.end) continue;
    const index = ((bytes[cursor]! & 0x07) << 1) | (bytes[cursor + 1]! >> 7);
    return { sampleRate: AAC_RATES[index], channels: (bytes[cursor + 1]! >> 3) & 0x0f };
  }
  return null;
};

/** A fragmented continuation made whole: the track's init segment, then the blob's fragments. */
export const completeFragment = (initSegment: Uint8Array, blob: Uint8Array): Uint8Array => {
  const view = viewOf(blob);
  const boxes = walkBoxes(blob, view, 0, blob.length);
  if (!boxes.some((box) => box.type === 'moof')) throw invalid('The blob is neither an MP4 file nor MP4 fragments (no moof box)');
  const out = new Uint8Array(initSegment.length + blob.length);
  out.set(initSegment, 0);
  out.set(blob, initSegment.length);
  return out;
};
