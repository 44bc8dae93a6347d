/**
 * Opus packet lengths (RFC 6716 section 3.1): the TOC byte's configuration gives the frame size, its
 * last two bits the frame count. Durations of WebM and Ogg audio are sums of these.
 */

/** Frame sizes in 48 kHz samples for configurations 0-31: SILK, hybrid, CELT. */
const FRAME_SAMPLES = [
  ...[480, 960, 1920, 2880, 480, 960, 1920, 2880, 480, 960, 1920, 2880],
  ...[480, 960, 480, 960],
  ...[120, 240, 480, 960, 120, 240, 480, 960, 120, 240, 480, 960, 120, 240, 480, 960],
];

/** Samples at 48 kHz in one Opus packet, or null when the bytes cannot be one. */
export const opusPacketSamples = (packet: Uint8Array): number | null => {
  if (packet.length === 0) return null;
  const toc = packet[0]!;
  const frameSamples = FRAME_SAMPLES[toc >> 3]!;
  const code = toc & 0x03;
  if (code === 0) return frameSamples;
  if (code === 1 || code === 2) return 2 * frameSamples;
  if (packet.length < 2) return null;
  const frames = packet[1]! & 0x3f;
  // A packet holds at most 120 ms.
  if (frames === 0 || frames * frameSamples > 5760) return null;
  return frames * frameSamples;
};
