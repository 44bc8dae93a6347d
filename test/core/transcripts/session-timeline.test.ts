/**
 * The session timeline's pure parts: chunk offsets, segmenting words into turns, and the txt, SubRip and
 * WebVTT renderings (parsed back with the `subtitle` package, as a caption player would).
 */
import { type NodeCue, parseSync } from 'subtitle';
import { describe, expect, it } from 'vitest';
import { captionTime, clockTime, toSrt, toText, toVtt } from '../../../functions/core/transcripts/captions';
import {
  buildSegments,
  chunkOffsets,
  SEGMENT_MAX_SECONDS,
  segmentChunk,
  speakersOf,
  type TimelineChunkInput,
} from '../../../functions/core/transcripts/timeline';

const word = (text: string, start: number, end: number, confidence = 0.8) => ({ word: text, start, end, confidence });

const chunk = (chunkId: string, words: TimelineChunkInput['words'], extra: Partial<TimelineChunkInput> = {}): TimelineChunkInput => ({
  chunk_id: chunkId,
  duration: 10,
  started_at: null,
  speaker: null,
  transcript: words.map((w) => w.word).join(' '),
  words,
  ...extra,
});

const cuesOf = (text: string) =>
  parseSync(text)
    .filter((node): node is NodeCue => node.type === 'cue')
    .map((node) => node.data);

describe('chunkOffsets', () => {
  it('places each chunk where the one before it ends, unless it says when it started', () => {
    expect(
      chunkOffsets([
        { duration: 1.5, started_at: null },
        { duration: 2.25, started_at: null },
        { duration: 1, started_at: null },
      ]),
    ).toEqual([0, 1.5, 3.75]);
    expect(
      chunkOffsets([
        { duration: 1.5, started_at: null },
        { duration: 2, started_at: 60 },
        { duration: 1, started_at: null },
      ]),
    ).toEqual([0, 60, 62]);
    // A start before the session's is clamped: captions cannot go below zero.
    expect(chunkOffsets([{ duration: 1, started_at: -5 }])).toEqual([0]);
  });
});

describe('segmentChunk', () => {
  it('keeps words closer than the pause in one segment, shifted by the chunk offset', () => {
    const [only, ...rest] = segmentChunk(
      chunk('7', [word('seven', 0.2, 0.6, 0.9), word('of', 0.7, 0.8, 0.7), word('clubs', 0.9, 1.4, 0.5)]),
      100,
    );
    expect(rest).toEqual([]);
    expect(only).toMatchObject({ start: 100.2, end: 101.4, text: 'seven of clubs', chunk_id: '7', speaker: null, confidence: 0.7 });
    expect(only!.words.map((w) => w.start)).toEqual([100.2, 100.7, 100.9]);
  });

  it('splits at a pause over 1.5 s but not at one of 1.5 s', () => {
    const split = segmentChunk(chunk('1', [word('a', 0, 0.5), word('b', 2.01, 2.5), word('c', 4, 4.5)]), 0);
    expect(split.map((s) => s.text)).toEqual(['a', 'b c']);
  });

  it('splits a run of speech before it grows past the length limit', () => {
    const words = Array.from({ length: 40 }, (_, i) => word(`w${i}`, i * 0.5, i * 0.5 + 0.4));
    const segments = segmentChunk(chunk('1', words, { duration: 20 }), 0);
    expect(segments.length).toBe(2);
    for (const segment of segments) expect(segment.end - segment.start).toBeLessThanOrEqual(SEGMENT_MAX_SECONDS);
    expect(segments.flatMap((s) => s.words.map((w) => w.word))).toEqual(words.map((w) => w.word));
  });

  it('turns text without word timings into one segment spanning the chunk, and silence into none', () => {
    expect(segmentChunk(chunk('2', [], { transcript: 'hello there', duration: 3 }), 5)).toEqual([
      { start: 5, end: 8, speaker: null, text: 'hello there', confidence: 0, chunk_id: '2', words: [] },
    ]);
    expect(segmentChunk(chunk('3', [], { transcript: '' }), 5)).toEqual([]);
  });
});

describe('buildSegments', () => {
  it('starts a new segment at every chunk, and at a change of speaker', () => {
    const chunks = [
      chunk('1', [word('hello', 0, 0.5)], { speaker: 'interviewer', duration: 1 }),
      chunk('2', [word('hi', 0.1, 0.4)], { speaker: 'candidate', duration: 1 }),
      chunk('3', [word('so', 0, 0.2)], { speaker: 'candidate', duration: 1 }),
    ];
    const segments = buildSegments(chunks, chunkOffsets(chunks));
    expect(segments.map((s) => [s.chunk_id, s.speaker, s.start])).toEqual([
      ['1', 'interviewer', 0],
      ['2', 'candidate', 1.1],
      ['3', 'candidate', 2],
    ]);
  });
});

describe('turns of two speakers recorded as overlapping tracks', () => {
  // The interviewer's chunk covers 0-10 s, the candidate's 4-14 s: their words interleave in time.
  const chunks = [
    chunk('1', [word('so', 0.5, 0.8), word('tell', 0.9, 1.2), word('me', 1.3, 1.5), word('anything', 8, 8.5)], {
      speaker: 'interviewer',
      started_at: 0,
    }),
    chunk('2', [word('well', 0.2, 0.5), word('i', 0.6, 0.7), word('think', 0.8, 1.1), word('yes', 6, 6.3)], {
      speaker: 'candidate',
      started_at: 4,
    }),
  ];
  const segments = buildSegments(chunks, chunkOffsets(chunks));

  it('alternate in time, each turn one speaker', () => {
    expect(segments.map((s) => [s.speaker, s.text, s.start])).toEqual([
      ['interviewer', 'so tell me', 0.5],
      ['candidate', 'well i think', 4.2],
      ['interviewer', 'anything', 8],
      ['candidate', 'yes', 10],
    ]);
  });

  it('are summed per speaker in order of first turn', () => {
    expect(speakersOf(segments)).toEqual([
      { speaker: 'interviewer', segments: 2, words: 4, seconds: 1.5 },
      { speaker: 'candidate', segments: 2, words: 4, seconds: 1.2 },
    ]);
    expect(speakersOf(buildSegments([chunk('1', [word('a', 0, 1)])], [0]))).toEqual([]);
  });

  it('carry the speaker into every format', () => {
    expect(toText(segments, [])).toBe(
      '[00:00:00] interviewer: so tell me\n[00:00:04] candidate: well i think\n[00:00:08] interviewer: anything\n[00:00:10] candidate: yes\n',
    );
    expect(cuesOf(toSrt(segments)).map((cue) => cue.text)).toEqual([
      'interviewer: so tell me',
      'candidate: well i think',
      'interviewer: anything',
      'candidate: yes',
    ]);
    expect(toVtt(segments)).toContain('<v candidate>well i think');
  });
});

describe('caption times', () => {
  it('writes hours, minutes, seconds and milliseconds', () => {
    expect(captionTime(3723.4567, ',')).toBe('01:02:03,457');
    expect(captionTime(0, '.')).toBe('00:00:00.000');
    expect(clockTime(62.9)).toBe('[00:01:02]');
  });
});

describe('toSrt and toVtt', () => {
  const chunks = [
    chunk('1', [word('ten', 0.3, 0.6), word('of', 0.7, 0.8), word('clubs', 0.85, 1.3), word('later', 4, 4.4)], { duration: 5 }),
    chunk('2', [word('five', 0.1, 0.5), word('five', 0.6, 1)], { duration: 2 }),
  ];
  const segments = buildSegments(chunks, chunkOffsets(chunks));

  it('parse back into one cue per segment, at the segment times', () => {
    for (const text of [toSrt(segments), toVtt(segments)]) {
      const cues = cuesOf(text);
      expect(cues.map((cue) => cue.text)).toEqual(['ten of clubs', 'later', 'five five']);
      expect(cues.map((cue) => [cue.start, cue.end])).toEqual([
        [300, 1300],
        [4000, 4400],
        [5100, 6000],
      ]);
    }
    expect(toVtt(segments).startsWith('WEBVTT\n\n')).toBe(true);
    expect(toSrt(segments).startsWith('1\n00:00:00,300 --> 00:00:01,300\nten of clubs\n\n2\n')).toBe(true);
  });

  it('gives a zero-length word a cue that ends after it starts, and keeps cue text on one line', () => {
    const odd = buildSegments([chunk('1', [word('a\n\nb --> c', 1, 1)])], [0]);
    const [cue] = cuesOf(toSrt(odd));
    expect(cue).toEqual({ start: 1000, end: 1001, text: 'a b -> c' });
  });

  it('name the speaker when there is one', () => {
    const spoken = buildSegments([chunk('1', [word('hi', 0, 0.5)], { speaker: 'candidate' })], [0]);
    expect(cuesOf(toSrt(spoken))[0]!.text).toBe('candidate: hi');
    expect(toVtt(spoken)).toContain('<v candidate>hi');
  });
});

describe('toText', () => {
  it('writes one timed line per segment and marks each gap, in time order', () => {
    const chunks = [chunk('1', [word('ten', 62, 62.5)], { duration: 70 }), chunk('3', [word('five', 0.5, 1)], { duration: 2 })];
    const segments = buildSegments(chunks, [0, 75]);
    const text = toText(segments, [
      { chunk_id: '2', sequence: null, offset: 70, status: 'pending', reason: 'Not transcribed yet' },
      { chunk_id: null, sequence: 9, offset: 77, status: 'missing', reason: 'no chunk with sequence 9 was uploaded' },
    ]);
    expect(text).toBe('[00:01:02] ten\n[chunk 2: pending]\n[00:01:15] five\n[missing: no chunk with sequence 9 was uploaded]\n');
    expect(toText([], [])).toBe('');
  });
});
