/**
 * WebM Opus to Ogg Opus without re-encoding: the pages must be valid Ogg (CRC as libogg computes it,
 * checked on pages ffmpeg wrote) and decode, by ffmpeg, to exactly the samples the WebM decodes to.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { oggCrc, webmToOggOpus } from '../../../functions/adapters/transcriber/webm-to-ogg';
import { readWebm } from '../../../functions/core/audio/webm';
import { encodedSpeech, POCKETSPHINX_TEST_DATA } from '../../support/audio-fixtures';

const dir = mkdtempSync(join(tmpdir(), 'interview-ops-remux-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const decode = (bytes: Uint8Array, demuxer: string) => {
  const path = join(dir, `input.${demuxer}`);
  writeFileSync(path, bytes);
  return execFileSync(
    'ffmpeg',
    ['-nostdin', '-v', 'error', '-f', demuxer, '-i', path, '-f', 's16le', '-ac', '1', '-ar', '48000', 'pipe:1'],
    {
      maxBuffer: 64 * 1024 * 1024,
    },
  );
};

/** Every page of an Ogg stream: offset, length and the CRC it carries. */
const pagesOf = (ogg: Buffer) => {
  const pages: { at: number; length: number; crc: number; granule: bigint; flags: number }[] = [];
  for (let at = 0; at < ogg.length; ) {
    expect(ogg.subarray(at, at + 4).toString()).toBe('OggS');
    const count = ogg[at + 26]!;
    let length = 27 + count;
    for (let i = 0; i < count; i++) length += ogg[at + 27 + i]!;
    pages.push({ at, length, crc: ogg.readUInt32LE(at + 22), granule: ogg.readBigInt64LE(at + 6), flags: ogg[at + 5]! });
    at += length;
  }
  return pages;
};

const crcWithFieldZeroed = (page: Buffer) => {
  const copy = Buffer.from(page);
  copy.writeUInt32LE(0, 22);
  return oggCrc(copy);
};

describe('webmToOggOpus', () => {
  const source = `${POCKETSPHINX_TEST_DATA}/librivox/sense_and_sensibility_01_austen_64kb-0880.wav`;

  it('computes the CRC libogg writes', () => {
    const ogg = encodedSpeech('ogg', source);
    for (const page of pagesOf(ogg)) expect(crcWithFieldZeroed(ogg.subarray(page.at, page.at + page.length))).toBe(page.crc);
  });

  it('writes valid pages: OpusHead first, OpusTags, rising granules, the last page marked', () => {
    const ogg = Buffer.from(webmToOggOpus(encodedSpeech('webm', source)).bytes);
    const pages = pagesOf(ogg);
    for (const page of pages) expect(crcWithFieldZeroed(ogg.subarray(page.at, page.at + page.length))).toBe(page.crc);
    expect(ogg.subarray(28, 36).toString()).toBe('OpusHead');
    expect(pages[0]!.flags).toBe(0x02);
    expect(pages.at(-1)!.flags).toBe(0x04);
    const granules = pages.slice(2).map((page) => page.granule);
    expect(granules).toEqual([...granules].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  });

  it('decodes to the same samples as the WebM it came from, and reports its length', () => {
    const webm = encodedSpeech('webm', source);
    const ogg = webmToOggOpus(webm);
    const fromWebm = decode(webm, 'webm');
    const fromOgg = decode(ogg.bytes, 'ogg');
    // ffmpeg trims the WebM's end padding (DiscardPadding), which Ogg says by the last granule instead.
    expect(fromOgg.subarray(0, fromWebm.length - 2 * 960).equals(fromWebm.subarray(0, fromWebm.length - 2 * 960))).toBe(true);
    expect(ogg.duration).toBeCloseTo(readWebm(webm).duration - 312 / 48000, 2);
  });
});
