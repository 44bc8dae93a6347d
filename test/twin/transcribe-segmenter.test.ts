/** Where the Transcribe twin closes its utterances, on real speech and on sound that never pauses. */
import { describe, expect, it } from 'vitest';
import { type Segment, Segmenter } from '../../twin/transcribe/segmenter';
import { realWav } from '../support/audio-fixtures';

const RATE = 16000;
const samplesOf = (clip: string): Int16Array => {
  const pcm = new Uint8Array(realWav(clip).subarray(44));
  return new Int16Array(pcm.buffer, pcm.byteOffset, pcm.byteLength / 2);
};
const librivox = (n: string) => samplesOf(`librivox/sense_and_sensibility_01_austen_64kb-${n}.wav`);

const concat = (parts: Int16Array[]): Int16Array => {
  const out = new Int16Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
};

/** Feeds the samples in pieces of `piece` and flushes; returns the segments. */
const segment = (samples: Int16Array, piece: number, options = {}): Segment[] => {
  const segments: Segment[] = [];
  const segmenter = new Segmenter(RATE, (found) => segments.push(found), options);
  for (let at = 0; at < samples.length; at += piece) segmenter.push(samples.subarray(at, at + piece));
  segmenter.flush();
  return segments;
};

const contiguous = (segments: Segment[], total: number) => {
  expect(segments[0]!.start).toBe(0);
  for (let i = 1; i < segments.length; i++) expect(segments[i]!.start).toBe(segments[i - 1]!.end);
  expect(segments.reduce((sum, found) => sum + found.samples.length, 0)).toBe(total);
  expect(segments.at(-1)!.end).toBeCloseTo(total / RATE, 6);
};

describe('Transcribe twin segmenter', () => {
  it('keeps one spoken sentence whole and cuts the same way whatever the piece size', () => {
    const speech = librivox('0870');
    const whole = segment(speech, 1600);
    expect(whole).toHaveLength(1);
    expect(whole[0]!.hasSpeech).toBe(true);
    contiguous(whole, speech.length);
    const odd = segment(speech, 333);
    expect(odd.map((found) => [found.start, found.end])).toEqual(whole.map((found) => [found.start, found.end]));
  });

  it('cuts after a second of quiet that follows speech, and marks quiet-only audio as no speech', () => {
    const quiet = new Int16Array(RATE * 2).map((_, i) => ((i * 7919) % 7) - 3);
    const audio = concat([librivox('0880'), quiet, librivox('0930')]);
    const segments = segment(audio, 1600);
    expect(segments).toHaveLength(2);
    contiguous(segments, audio.length);
    const speechEnds = librivox('0880').length / RATE;
    expect(segments[0]!.end).toBeGreaterThan(speechEnds + 0.9);
    expect(segments[0]!.end).toBeLessThan(speechEnds + 2);
    expect(segments.every((found) => found.hasSpeech)).toBe(true);
    expect(segment(quiet, 1600).map((found) => found.hasSpeech)).toEqual([false]);
  });

  it('closes long speech at the first pause after the soft limit, and never lets a segment pass the hard limit', () => {
    const reading = concat([librivox('0870'), librivox('0890'), librivox('0920')]);
    const soft = segment(reading, 1600, { softMaxSeconds: 8, endSilenceSeconds: 5 });
    contiguous(soft, reading.length);
    expect(soft.length).toBeGreaterThanOrEqual(2);
    expect(soft[0]!.end).toBeGreaterThanOrEqual(8);
    expect(soft[0]!.end).toBeLessThan(reading.length / RATE);

    // Half a second of quiet sets the floor; loud noise after it never pauses: cut at the hard limit exactly.
    let seed = 1;
    const noise = new Int16Array(RATE * 7).map((_, i) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return i < RATE / 2 ? (seed % 7) - 3 : (seed % 20000) - 10000;
    });
    const hard = segment(noise, 1600, { softMaxSeconds: 2, hardMaxSeconds: 3 });
    contiguous(hard, noise.length);
    expect(hard.map((found) => found.end - found.start)).toEqual([3, 3, 1]);
  });
});
