/**
 * Ogg pages (RFC 3533) of an Ogg Opus stream (RFC 7845), and Firefox's MediaRecorder timeslice blobs:
 * the first blob holds the OpusHead and OpusTags pages, later ones only further audio pages (same serial,
 * granule positions and page numbers running on). A later blob is made a stream of its own behind the
 * first blob's header pages, its pages renumbered and their granule positions counted from its start.
 */
import { invalidInput } from '../errors';
import { opusPacketSamples } from './opus';

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 24;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x80000000 ? (crc << 1) ^ 0x04c11db7 : crc << 1;
    table[i] = crc >>> 0;
  }
  return table;
})();

/** Ogg's CRC-32: polynomial 0x04c11db7, no reflection, initial value 0, over the page with its CRC field zeroed. */
export const oggCrc = (bytes: Uint8Array): number => {
  let crc = 0;
  for (const byte of bytes) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ byte) & 0xff]!) >>> 0;
  return crc;
};

const FLAG_CONTINUED = 0x01;
const FLAG_FIRST = 0x02;

export interface OggPage {
  start: number;
  end: number;
  /** Where the packet data begins (after the lacing values). */
  bodyStart: number;
  flags: number;
  /** -1 when no packet ends on the page. */
  granule: bigint;
  lacing: Uint8Array;
}

const isOggS = (bytes: Uint8Array, at: number) =>
  bytes[at] === 0x4f && bytes[at + 1] === 0x67 && bytes[at + 2] === 0x67 && bytes[at + 3] === 0x53;

const invalid = (detail: string) => invalidInput('Invalid audio', detail);

/** Every page of `bytes`, which must be whole pages; a page cut off or a gap is a 400. */
export const oggPages = (bytes: Uint8Array): OggPage[] => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pages: OggPage[] = [];
  for (let at = 0; at < bytes.length; ) {
    if (at + 27 > bytes.length || !isOggS(bytes, at)) throw invalid(`The Ogg stream is truncated or malformed at byte ${at}`);
    const count = bytes[at + 26]!;
    const bodyStart = at + 27 + count;
    if (bodyStart > bytes.length) throw invalid(`The Ogg stream is truncated: its page at byte ${at} is cut off`);
    const lacing = bytes.subarray(at + 27, bodyStart);
    const end = bodyStart + lacing.reduce((sum, value) => sum + value, 0);
    if (end > bytes.length) throw invalid(`The Ogg stream is truncated: its page at byte ${at} is cut off`);
    pages.push({ start: at, end, bodyStart, flags: bytes[at + 5]!, granule: view.getBigInt64(at + 6, true), lacing });
    at = end;
  }
  return pages;
};

const startsWith = (bytes: Uint8Array, at: number, text: string) =>
  at + text.length <= bytes.length && [...text].every((char, i) => bytes[at + i] === char.charCodeAt(0));

/** True for Ogg bytes whose first page does not begin an Opus stream: a timeslice blob after the first. */
export const isOggContinuation = (bytes: Uint8Array): boolean =>
  bytes.length >= 27 && isOggS(bytes, 0) && !startsWith(bytes, 27 + bytes[26]!, 'OpusHead');

/**
 * The header pages of an Ogg Opus stream that begins with its OpusHead page: that page and the pages up
 * to the one on which the OpusTags packet ends. Null when the bytes do not hold them whole.
 */
export const oggOpusHeaderLength = (bytes: Uint8Array): number | null => {
  let pages: OggPage[];
  try {
    pages = oggPages(bytes);
  } catch {
    // The probe walks the pages itself and says what is wrong.
    return null;
  }
  if (pages.length < 2 || !startsWith(bytes, pages[1]!.bodyStart, 'OpusTags')) return null;
  for (const page of pages.slice(1)) {
    const last = page.lacing[page.lacing.length - 1];
    if (last !== undefined && last < 255) return page.end;
  }
  return null;
};

/**
 * A continuation blob behind its recording's header pages: a fresh Ogg Opus stream. The blob's pages keep
 * their packets; they take the header's serial, page numbers that follow it, and granule positions
 * counted from the blob's first sample (plus the header's pre-skip), so its length is its own audio and
 * decoders (ffmpeg, Transcribe) read it as a fresh stream.
 */
export const completeOggContinuation = (header: Uint8Array, blob: Uint8Array): Uint8Array => {
  const headerLength = oggOpusHeaderLength(header);
  if (headerLength === null || headerLength !== header.length) throw invalid('The stored Ogg track header is not an OpusHead and OpusTags');
  const headerPages = oggPages(header);
  const headerView = new DataView(header.buffer, header.byteOffset, header.byteLength);
  const serial = headerView.getUint32(14, true);
  const preSkip = BigInt(headerView.getUint16(headerPages[0]!.bodyStart + 10, true));
  if (!isOggContinuation(blob)) throw invalid('The blob is not an Ogg continuation: it does not start with an Ogg page');
  const pages = oggPages(blob);
  const start = firstSample(blob, pages);
  // The stream's first pre-skip samples are never audio: a blob from the very start keeps its granules.
  const shift = start > preSkip ? start - preSkip : 0n;
  const out = new Uint8Array(header.length + blob.length);
  out.set(header, 0);
  out.set(blob, header.length);
  const view = new DataView(out.buffer);
  pages.forEach((page, i) => {
    const at = header.length + page.start;
    out[at + 5] = page.flags & ~FLAG_FIRST;
    if (page.granule >= 0n) view.setBigInt64(at + 6, page.granule - shift, true);
    view.setUint32(at + 14, serial, true);
    view.setUint32(at + 18, headerPages.length + i, true);
    view.setUint32(at + 22, 0, true);
    view.setUint32(at + 22, oggCrc(out.subarray(at, header.length + page.end)), true);
  });
  return out;
};

/**
 * The granule position at the blob's first sample: the first page's that ends a packet, less the Opus
 * samples of the packets that begin in the blob and end by that page (a packet carried over from the
 * previous blob is left out, as decoders drop it).
 */
const firstSample = (blob: Uint8Array, pages: OggPage[]): bigint => {
  let samples = 0;
  let packetStart: number | null = null;
  let carried = pages[0] !== undefined && (pages[0].flags & FLAG_CONTINUED) !== 0;
  for (const page of pages) {
    let at = page.bodyStart;
    for (const value of page.lacing) {
      if (packetStart === null) packetStart = at;
      at += value;
      if (value < 255) {
        if (!carried) samples += opusPacketSamples(blob.subarray(packetStart, Math.min(at, packetStart + 2))) ?? 0;
        carried = false;
        packetStart = null;
      }
    }
    if (page.granule >= 0n) {
      const start = page.granule - BigInt(samples);
      if (start < 0n) throw invalid('The Ogg continuation holds more audio than its granule positions count');
      return start;
    }
  }
  throw invalid('The Ogg continuation holds no whole Opus packet');
};
