/**
 * Probing what browsers record, on real speech encoded by ffmpeg (libopus, aac): WebM Opus, Ogg Opus,
 * MP4 AAC; and MediaRecorder's timeslice blobs, cut as Chromium cuts them (between an element's ID
 * and its size), made whole behind their track header. Lengths are checked against sox's reading of
 * the source; bad bytes must be a 400 that says what is wrong, a wrong type a 415.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isContinuationBlob, joinTrackHeader, probeAudio } from '../../functions/core/audio/probe';
import { readWebm, walkElements } from '../../functions/core/audio/webm';
import { isDomainError } from '../../functions/core/errors';
import { encodedSpeech, firefoxBlobs, oggPageStarts, POCKETSPHINX_TEST_DATA, wavSeconds } from '../support/audio-fixtures';
import { refusal } from '../support/refusal';

const ALL = ['wav', 'flac', 'ogg', 'webm', 'mp4'] as const;
const SOURCE = `${POCKETSPHINX_TEST_DATA}/librivox/sense_and_sensibility_01_austen_64kb-0870.wav`;
const SOURCE_SECONDS = wavSeconds(SOURCE);

describe('probeAudio on browser formats', () => {
  it.each([
    // The rate the track declares: the recording's own (browsers write 48000).
    ['webm', 'audio/webm;codecs=opus', 16000],
    ['ogg', 'audio/ogg;codecs=opus', 16000],
    ['mp4', 'audio/mp4', 16000],
    ['flac', 'audio/flac', 16000],
  ] as const)('reads %s rate, channels and length', (format, contentType, sampleRate) => {
    const probe = probeAudio(encodedSpeech(format, SOURCE), contentType, ALL);
    expect(probe).toMatchObject({ format, extension: format, sampleRate, channels: 1 });
    // Encoders pad to whole frames (AAC adds its priming frame): within 0.1 s of the source.
    expect(Math.abs(probe.duration - SOURCE_SECONDS)).toBeLessThan(0.1);
  });

  it('keeps no track header for whole files that need none, the init segment of a WebM, the header pages of an Ogg', () => {
    expect(probeAudio(encodedSpeech('mp4', SOURCE), 'audio/mp4', ALL).trackHeader).toBeNull();
    const ogg = encodedSpeech('ogg', SOURCE);
    // The OpusHead page and the OpusTags page: the first audio page starts where they end.
    expect(Buffer.from(probeAudio(ogg, 'audio/ogg', ALL).trackHeader!)).toEqual(ogg.subarray(0, oggPageStarts(ogg)[2]));
    const webm = encodedSpeech('webm', SOURCE);
    const header = probeAudio(webm, 'audio/webm', ALL).trackHeader!;
    expect(Buffer.from(header)).toEqual(webm.subarray(0, header.length));
    // The header ends where the first Cluster starts.
    expect(webm.readUInt32BE(header.length)).toBe(0x1f43b675);
  });

  it.each([
    ['webm', 'audio/webm', /WebM .*(truncated|cut off)/],
    ['ogg', 'audio/ogg', /Ogg stream is truncated/],
    ['mp4', 'audio/mp4', /MP4 file is truncated/],
  ] as const)('refuses truncated %s with a 400 that says so', (format, contentType, says) => {
    const whole = encodedSpeech(format, SOURCE);
    for (const keep of [Math.floor(whole.length / 2), whole.length - 3]) {
      const error = refusal(() => probeAudio(whole.subarray(0, keep), contentType, ALL));
      expect(error.kind).toBe('invalid_input');
      expect(error.detail).toMatch(says);
    }
  });

  it.each(['audio/webm', 'audio/mp4', 'audio/ogg'])('refuses garbage sent as %s with a 400', (contentType) => {
    const garbage = Buffer.from('this is not audio at all, only words in a request body '.repeat(4));
    const error = refusal(() => probeAudio(garbage, contentType, ALL));
    expect(error.kind).toBe('invalid_input');
    expect(error.detail.length).toBeGreaterThan(10);
  });

  it('refuses one format labelled as another with a 400, and an unknown type with a 415', () => {
    expect(refusal(() => probeAudio(encodedSpeech('webm', SOURCE), 'audio/mp4', ALL)).kind).toBe('invalid_input');
    expect(refusal(() => probeAudio(encodedSpeech('mp4', SOURCE), 'audio/webm', ALL)).detail).toMatch(
      /continues a recording|not a WebM|Clusters/,
    );
    expect(refusal(() => probeAudio(encodedSpeech('ogg', SOURCE), 'audio/flac', ALL)).kind).toBe('invalid_input');
    expect(refusal(() => probeAudio(encodedSpeech('webm', SOURCE), 'audio/mpeg', ALL)).kind).toBe('unsupported_media_type');
  });

  it('refuses a type the deployment cannot transcribe with a 415 that names it', () => {
    const error = refusal(() => probeAudio(encodedSpeech('mp4', SOURCE), 'audio/mp4', ['wav', 'flac', 'ogg', 'webm']));
    expect(error.kind).toBe('unsupported_media_type');
    expect(error.detail).toContain('audio/mp4 cannot be transcribed');
    expect(error.detail).toContain('audio/webm');
  });
});

/** Cuts a WebM as Chromium's MediaRecorder does with a timeslice: one byte into a SimpleBlock, its ID left behind. */
const chromiumBlobs = (webm: Uint8Array, parts: number): Uint8Array[] => {
  const blocks = walkElements(webm).filter((element) => element.id === 0xa3);
  const cuts = Array.from({ length: parts - 1 }, (_, i) => blocks[Math.floor(((i + 1) * blocks.length) / parts)]!.start + 1);
  return [0, ...cuts].map((from, i) => webm.subarray(from, cuts[i] ?? webm.length));
};

describe('MediaRecorder timeslice blobs', () => {
  const webm = encodedSpeech('webm', SOURCE);
  const whole = readWebm(webm);

  it('tells a continuation blob from a first blob', () => {
    const [first, second] = chromiumBlobs(webm, 3);
    expect(isContinuationBlob(first!, 'webm')).toBe(false);
    expect(isContinuationBlob(second!, 'webm')).toBe(true);
    expect(isContinuationBlob(encodedSpeech('mp4', SOURCE), 'mp4')).toBe(false);
  });

  it('refuses a continuation on its own with a 400, as it has no header', () => {
    const [, second] = chromiumBlobs(webm, 3);
    expect(refusal(() => probeAudio(second!, 'audio/webm', ALL)).kind).toBe('invalid_input');
  });

  it('makes each continuation whole behind the first blob header: every packet once, the lengths adding up', () => {
    const blobs = chromiumBlobs(webm, 4);
    const header = probeAudio(blobs[0]!, 'audio/webm', ALL).trackHeader!;
    let packets = readWebm(blobs[0]!).packets.length;
    let seconds = probeAudio(blobs[0]!, 'audio/webm', ALL).duration;
    for (const blob of blobs.slice(1)) {
      const joined = joinTrackHeader('webm', header, blob);
      const probe = probeAudio(joined, 'audio/webm', ALL);
      expect(probe).toMatchObject({ format: 'webm', sampleRate: 16000, channels: 1 });
      expect(probe.duration).toBeGreaterThan(1);
      packets += readWebm(joined).packets.length;
      seconds += probe.duration;
    }
    expect(packets).toBe(whole.packets.length);
    expect(seconds).toBeCloseTo(whole.duration, 6);
  });

  it('refuses a continuation that is not WebM at all with a 400', () => {
    const header = probeAudio(webm, 'audio/webm', ALL).trackHeader!;
    const error = refusal(() => joinTrackHeader('webm', header, Buffer.from([0x00, 0x00, 0x00, 0x01, 0x02])));
    expect(error.kind).toBe('invalid_input');
  });
});

/** Granule position of the Ogg page starting at `at`, from the original file. */
const granuleAt = (ogg: Buffer, at: number) => Number(ogg.readBigInt64LE(at + 6));

/** What ffmpeg decodes from an Ogg stream: its complaints and the samples' seconds at 16 kHz. */
const ffmpegDecode = (ogg: Uint8Array) => {
  const dir = mkdtempSync(join(tmpdir(), 'interview-ops-ogg-blob-'));
  try {
    writeFileSync(join(dir, 'in.ogg'), ogg);
    const run = spawnSync(
      'ffmpeg',
      ['-nostdin', '-v', 'warning', '-i', join(dir, 'in.ogg'), '-ar', '16000', '-ac', '1', '-f', 's16le', '-'],
      {
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    return { complaints: run.stderr.toString(), seconds: run.stdout.length / 2 / 16000, status: run.status };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

describe("Firefox's Ogg Opus timeslice blobs", () => {
  const ogg = encodedSpeech('ogg', SOURCE);
  const whole = probeAudio(ogg, 'audio/ogg', ALL);

  it('tells a continuation blob from a first blob', () => {
    const [first, second] = firefoxBlobs(ogg, 3);
    expect(isContinuationBlob(first!, 'ogg')).toBe(false);
    expect(isContinuationBlob(second!, 'ogg')).toBe(true);
    expect(isContinuationBlob(ogg, 'ogg')).toBe(false);
    // Not Ogg at all: the probe refuses it, no header can help.
    expect(isContinuationBlob(Buffer.from('not an ogg page at all, only some words'), 'ogg')).toBe(false);
  });

  it('refuses a continuation on its own with a 400, as it has no OpusHead', () => {
    const [, second] = firefoxBlobs(ogg, 3);
    expect(refusal(() => probeAudio(second!, 'audio/ogg;codecs=opus', ALL)).kind).toBe('invalid_input');
  });

  it('makes each continuation a whole stream whose length is its own pages audio, the lengths adding up', () => {
    const blobs = firefoxBlobs(ogg, 4);
    const first = probeAudio(blobs[0]!, 'audio/ogg;codecs=opus', ALL);
    const header = first.trackHeader!;
    let seconds = first.duration;
    let end = blobs[0]!.length;
    for (const blob of blobs.slice(1)) {
      const joined = joinTrackHeader('ogg', header, blob);
      const probe = probeAudio(joined, 'audio/ogg;codecs=opus', ALL);
      expect(probe).toMatchObject({ format: 'ogg', sampleRate: 16000, channels: 1 });
      // The granule positions of the original file: the blob's last page less the previous blob's last page.
      const starts = oggPageStarts(ogg);
      const previousLast = starts.filter((at) => at < end).at(-1)!;
      const ownLast = starts.filter((at) => at < end + blob.length).at(-1)!;
      const expected = (granuleAt(ogg, ownLast) - granuleAt(ogg, previousLast)) / 48000;
      expect(probe.duration).toBeGreaterThan(1);
      expect(probe.duration).toBeCloseTo(expected, 6);
      seconds += probe.duration;
      end += blob.length;
    }
    expect(seconds).toBeCloseTo(whole.duration, 6);
  });

  it('gives ffmpeg a stream it reads without complaint (page CRCs, numbers and granules of a fresh stream)', () => {
    const blobs = firefoxBlobs(ogg, 3);
    const header = probeAudio(blobs[0]!, 'audio/ogg', ALL).trackHeader!;
    for (const blob of blobs.slice(1)) {
      const joined = joinTrackHeader('ogg', header, blob);
      const decoded = ffmpegDecode(joined);
      expect(decoded.status).toBe(0);
      expect(decoded.complaints).toBe('');
      // The decoder drops the pre-skip (6.5 ms) at the start.
      expect(Math.abs(decoded.seconds - probeAudio(joined, 'audio/ogg', ALL).duration)).toBeLessThan(0.02);
    }
  });

  it('refuses a continuation that is not Ogg pages, or is cut inside a page, with a 400', () => {
    const [first, second] = firefoxBlobs(ogg, 3);
    const header = probeAudio(first!, 'audio/ogg', ALL).trackHeader!;
    expect(refusal(() => joinTrackHeader('ogg', header, Buffer.from([0x00, 0x00, 0x00, 0x01, 0x02]))).kind).toBe('invalid_input');
    const cut = refusal(() => joinTrackHeader('ogg', header, second!.subarray(0, second!.length - 5)));
    expect(cut.kind).toBe('invalid_input');
    expect(cut.detail).toMatch(/truncated/);
  });
});

describe('hostile bytes', () => {
  /** Each format's real file, with bytes overwritten and its end cut at random: a DomainError or a probe, never a crash. */
  it.each([
    ['webm', 'audio/webm'],
    ['mp4', 'audio/mp4'],
    ['ogg', 'audio/ogg'],
  ] as const)('never throws anything but a 400 or 415 for corrupted %s', (format, contentType) => {
    const whole = encodedSpeech(format, SOURCE);
    fc.assert(
      fc.property(
        // Headers sit at the start (and, for an MP4 written without faststart, its moov at the end).
        fc.array(
          fc.tuple(
            fc.oneof(
              fc.nat({ max: 4000 }),
              fc.nat({ max: 4000 }).map((back) => Math.max(0, whole.length - 1 - back)),
            ),
            fc.nat({ max: 255 }),
          ),
          { maxLength: 8 },
        ),
        fc.nat({ max: whole.length }),
        (edits, keep) => {
          const bytes = Buffer.from(whole.subarray(0, Math.max(1, keep)));
          for (const [at, value] of edits) if (at < bytes.length) bytes[at] = value;
          try {
            const probe = probeAudio(bytes, contentType, ALL);
            expect(probe.duration).toBeGreaterThanOrEqual(0);
          } catch (error) {
            expect(isDomainError(error), String(error)).toBe(true);
          }
          // The same bytes as a continuation behind a real header: a DomainError or whole audio.
          try {
            joinTrackHeader('webm', probeAudio(encodedSpeech('webm', SOURCE), 'audio/webm', ALL).trackHeader!, bytes);
          } catch (error) {
            expect(isDomainError(error), String(error)).toBe(true);
          }
          // And behind a real Ogg header, as Firefox's later blobs are.
          try {
            const joined = joinTrackHeader('ogg', probeAudio(encodedSpeech('ogg', SOURCE), 'audio/ogg', ALL).trackHeader!, bytes);
            expect(probeAudio(joined, 'audio/ogg', ALL).duration).toBeGreaterThanOrEqual(0);
          } catch (error) {
            expect(isDomainError(error), String(error)).toBe(true);
          }
        },
      ),
      { numRuns: 300, seed: 17 },
    );
  });
  it('never throws anything but a 400 for a corrupted Ogg continuation behind a real header', () => {
    const [first, second] = firefoxBlobs(encodedSpeech('ogg', SOURCE), 3);
    const header = probeAudio(first!, 'audio/ogg', ALL).trackHeader!;
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: second!.length - 1 }), fc.nat({ max: 255 })), { maxLength: 8 }),
        fc.nat({ max: second!.length }),
        (edits, keep) => {
          const bytes = Buffer.from(second!.subarray(0, Math.max(1, keep)));
          for (const [at, value] of edits) if (at < bytes.length) bytes[at] = value;
          try {
            expect(probeAudio(joinTrackHeader('ogg', header, bytes), 'audio/ogg', ALL).duration).toBeGreaterThanOrEqual(0);
          } catch (error) {
            expect(isDomainError(error), String(error)).toBe(true);
          }
        },
      ),
      { numRuns: 300, seed: 23 },
    );
  });
});
