/**
 * One session timeline from its chunks' word timings: each chunk starts at its started_at when known,
 * else where the chunk before it (in chunk order) ends. The words of every chunk are merged in time and
 * cut into segments (turns) at a change of chunk, so of speaker, at a pause, or at the segment's length
 * limit: two speakers recorded as separate, overlapping chunk tracks come out as alternating turns.
 * Pure: no I/O.
 */
import type { WordTiming } from '../ports/transcriber';

/** A pause longer than this between two words starts a new segment. */
export const SEGMENT_PAUSE_SECONDS = 1.5;
/** No segment runs longer than this: a caption stays readable, a turn stays findable. */
export const SEGMENT_MAX_SECONDS = 12;

export interface TimelineChunkInput {
  chunk_id: string;
  duration: number;
  /** Seconds from the session's start, when the client said when the chunk started. */
  started_at: number | null;
  speaker: string | null;
  transcript: string | null;
  words: readonly WordTiming[];
}

export interface Segment {
  /** Seconds from the session's start. */
  start: number;
  end: number;
  speaker: string | null;
  text: string;
  confidence: number;
  chunk_id: string;
  /** Times in seconds from the session's start. */
  words: WordTiming[];
}

/** One labeled voice of the session: how much of the timeline is theirs. */
export interface SpeakerSummary {
  speaker: string;
  segments: number;
  words: number;
  /** The sum of their segments' lengths. */
  seconds: number;
}

const round3 = (value: number) => Math.round(value * 1000) / 1000;
const round4 = (value: number) => Math.round(value * 10000) / 10000;

/** Each chunk's offset: its started_at when known (never before the session's start), else where the previous chunk ends. */
export const chunkOffsets = (chunks: readonly Pick<TimelineChunkInput, 'duration' | 'started_at'>[]): number[] => {
  let elapsed = 0;
  return chunks.map((chunk) => {
    const offset = chunk.started_at === null ? elapsed : Math.max(0, chunk.started_at);
    elapsed = offset + chunk.duration;
    return round3(offset);
  });
};

type PlacedWord = WordTiming & { chunk: number };

const segmentOf = (chunk: TimelineChunkInput, words: PlacedWord[]): Segment => ({
  start: words[0]!.start,
  end: words[words.length - 1]!.end,
  speaker: chunk.speaker,
  text: words.map((word) => word.word).join(' '),
  confidence: round4(words.reduce((sum, word) => sum + word.confidence, 0) / words.length),
  chunk_id: chunk.chunk_id,
  words: words.map(({ chunk: _chunk, ...word }) => word),
});

/** A chunk's usable words at `offset`, in time order. */
const placeWords = (chunk: TimelineChunkInput, offset: number, index: number): PlacedWord[] =>
  chunk.words
    .filter((word) => word.word.trim() !== '' && Number.isFinite(word.start) && Number.isFinite(word.end))
    .map((word) => ({
      word: word.word,
      start: round3(offset + Math.max(0, word.start)),
      end: round3(offset + Math.max(word.start, word.end, 0)),
      confidence: word.confidence,
      chunk: index,
    }))
    .sort((a, b) => a.start - b.start);

/** A chunk whose engine gave text without word timings: one segment spanning it, so no recognized text is lost. */
const textOnlySegment = (chunk: TimelineChunkInput, offset: number): Segment[] => {
  const text = chunk.transcript?.trim() ?? '';
  if (text === '') return [];
  return [
    {
      start: offset,
      end: round3(offset + chunk.duration),
      speaker: chunk.speaker,
      text,
      confidence: 0,
      chunk_id: chunk.chunk_id,
      words: [],
    },
  ];
};

/** Every chunk's segments on the session timeline, ordered by start (chunk order breaks ties). */
export const buildSegments = (chunks: readonly TimelineChunkInput[], offsets: readonly number[]): Segment[] => {
  const placed = chunks.map((chunk, i) => placeWords(chunk, offsets[i]!, i));
  const words = placed.flat().sort((a, b) => a.start - b.start || a.chunk - b.chunk);
  const segments: { segment: Segment; chunk: number }[] = [];
  let current: PlacedWord[] = [];
  const close = () => {
    if (current.length > 0) segments.push({ segment: segmentOf(chunks[current[0]!.chunk]!, current), chunk: current[0]!.chunk });
    current = [];
  };
  for (const word of words) {
    const first = current[0];
    const last = current[current.length - 1];
    if (
      first &&
      last &&
      (word.chunk !== first.chunk || word.start - last.end > SEGMENT_PAUSE_SECONDS || word.end - first.start > SEGMENT_MAX_SECONDS)
    ) {
      close();
    }
    current.push(word);
  }
  close();
  chunks.forEach((chunk, i) => {
    if (placed[i]!.length === 0) for (const segment of textOnlySegment(chunk, offsets[i]!)) segments.push({ segment, chunk: i });
  });
  return segments.sort((a, b) => a.segment.start - b.segment.start || a.chunk - b.chunk).map(({ segment }) => segment);
};

/** The segments of one chunk placed at `offset`. */
export const segmentChunk = (chunk: TimelineChunkInput, offset: number): Segment[] => buildSegments([chunk], [offset]);

/** Each labeled speaker, in order of first turn. */
export const speakersOf = (segments: readonly Segment[]): SpeakerSummary[] => {
  const summaries = new Map<string, SpeakerSummary>();
  for (const segment of segments) {
    if (segment.speaker === null) continue;
    const summary = summaries.get(segment.speaker) ?? { speaker: segment.speaker, segments: 0, words: 0, seconds: 0 };
    summary.segments += 1;
    summary.words += segment.words.length;
    summary.seconds = round3(summary.seconds + (segment.end - segment.start));
    summaries.set(segment.speaker, summary);
  }
  return [...summaries.values()];
};
