/**
 * WebM Opus rewritten as Ogg Opus (RFC 7845) without re-encoding, for Amazon Transcribe Streaming,
 * which reads Ogg Opus but not WebM: the track's OpusHead and an OpusTags packet, then the Opus packets
 * from the SimpleBlocks in pages whose granule positions count the samples decoded so far at 48 kHz.
 */
import { oggCrc } from '../../core/audio/ogg';
import { readWebm } from '../../core/audio/webm';

export { oggCrc };

/** Packets per page: small pages keep the paced stream smooth (about half a second of 60 ms packets). */
const PACKETS_PER_PAGE = 8;
const VENDOR = 'interview-ops';

const FLAG_FIRST = 0x02;
const FLAG_LAST = 0x04;

const oggPage = (packets: Uint8Array[], granule: bigint, serial: number, sequence: number, flags: number): Uint8Array => {
  const lacing: number[] = [];
  for (const packet of packets) {
    for (let left = packet.length; ; left -= 255) {
      lacing.push(Math.min(255, left));
      if (left < 255) break;
    }
  }
  const bodyLength = packets.reduce((sum, packet) => sum + packet.length, 0);
  const page = new Uint8Array(27 + lacing.length + bodyLength);
  const view = new DataView(page.buffer);
  page.set([0x4f, 0x67, 0x67, 0x53], 0);
  page[5] = flags;
  view.setBigInt64(6, granule, true);
  view.setUint32(14, serial, true);
  view.setUint32(18, sequence, true);
  page[26] = lacing.length;
  page.set(lacing, 27);
  let at = 27 + lacing.length;
  for (const packet of packets) {
    page.set(packet, at);
    at += packet.length;
  }
  view.setUint32(22, oggCrc(page), true);
  return page;
};

const opusHead = (channels: number, inputRate: number): Uint8Array => {
  const head = new Uint8Array(19);
  const view = new DataView(head.buffer);
  head.set(new TextEncoder().encode('OpusHead'), 0);
  head[8] = 1;
  head[9] = channels;
  view.setUint16(10, 312, true);
  view.setUint32(12, inputRate, true);
  return head;
};

const opusTags = (): Uint8Array => {
  const vendor = new TextEncoder().encode(VENDOR);
  const tags = new Uint8Array(8 + 4 + vendor.length + 4);
  const view = new DataView(tags.buffer);
  tags.set(new TextEncoder().encode('OpusTags'), 0);
  view.setUint32(8, vendor.length, true);
  tags.set(vendor, 12);
  view.setUint32(12 + vendor.length, 0, true);
  return tags;
};

export interface OggOpus {
  bytes: Uint8Array;
  /** Seconds of audio after the pre-skip. */
  duration: number;
}

/** A complete WebM Opus file (as the ingest path stores every chunk) as one Ogg Opus stream. */
export const webmToOggOpus = (webm: Uint8Array, serial = 0x696f7073): OggOpus => {
  const file = readWebm(webm);
  const head = file.track.codecPrivate?.length ? file.track.codecPrivate : opusHead(file.track.channels, file.track.sampleRate);
  const preSkip = new DataView(head.buffer, head.byteOffset, head.byteLength).getUint16(10, true);
  const pages = [oggPage([head], 0n, serial, 0, FLAG_FIRST), oggPage([opusTags()], 0n, serial, 1, 0)];
  let granule = 0;
  for (let first = 0; first < file.packets.length; first += PACKETS_PER_PAGE) {
    const group = file.packets.slice(first, first + PACKETS_PER_PAGE);
    granule += group.reduce((sum, packet) => sum + packet.samples, 0);
    const last = first + PACKETS_PER_PAGE >= file.packets.length;
    pages.push(
      oggPage(
        group.map((packet) => packet.data),
        BigInt(granule),
        serial,
        pages.length,
        last ? FLAG_LAST : 0,
      ),
    );
  }
  const bytes = new Uint8Array(pages.reduce((sum, page) => sum + page.length, 0));
  let at = 0;
  for (const page of pages) {
    bytes.set(page, at);
    at += page.length;
  }
  return { bytes, duration: Math.max(0, granule - preSkip) / 48000 };
};
