/**
 * One session timeline from its chunks' word timings: each chunk starts at its started_at when known,
 * else where the chunks before it (in chunk order) end; its words are grouped into segments (turns) that
 * end at a change of speaker, a pause, the segment's length limit, or the chunk's end. Pure: no I/O.
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

const round3 = (value: number) => Math.round(value * 1000) / 1000;
const round4 = (value: number) => Math.round(value * 10000) / 10000;

/** Each chunk's offset: its started_at when known, else the sum of the previous chunks' durations. */
export const chunkOffsets = (chunks: readonly Pick<TimelineChunkInput, 'duration' | 'started_at'>[]): number[] => {
  let elapsed = 0;
  return chunks.map((chunk) => {
    const offset = chunk.started_at ?? elapsed;
    elapsed += chunk.duration;
    return round3(offset);
  });
};

const segmentOf = (chunk: TimelineChunkInput, words: WordTiming[]): Segment => ({
  start: words[0]!.start,
  end: words[words.length - 1]!.end,
  speaker: chunk.speaker,
  text: words.map((word) => word.word).join(' '),
  confidence: round4(words.reduce((sum, word) => sum + word.confidence, 0) / words.length),
  chunk_id: chunk.chunk_id,
  words,
});

/**
 * The segments of one chunk placed at `offset`. A chunk whose engine gave text without word timings
 * becomes one segment spanning the chunk, so no recognized text is lost.
 */
export const segmentChunk = (chunk: TimelineChunkInput, offset: number): Segment[] => {
  const words = chunk.words
    .filter((word) => word.word.trim() !== '' && Number.isFinite(word.start) && Number.isFinite(word.end))
    .map((word) => ({
      word: word.word,
      start: round3(offset + Math.max(0, word.start)),
      end: round3(offset + Math.max(word.start, word.end, 0)),
      confidence: word.confidence,
    }))
    .sort((a, b) => a.start - b.start);
  if (words.length === 0) {
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
  }
  const segments: Segment[] = [];
  let current: WordTiming[] = [];
  for (const word of words) {
    const first = current[0];
    const last = current[current.length - 1];
    if (first && last && (word.start - last.end > SEGMENT_PAUSE_SECONDS || word.end - first.start > SEGMENT_MAX_SECONDS)) {
      segments.push(segmentOf(chunk, current));
      current = [];
    }
    current.push(word);
  }
  segments.push(segmentOf(chunk, current));
  return segments;
};

/** Every chunk's segments on the session timeline, in chunk order; a chunk's speaker starts its own segments. */
export const buildSegments = (chunks: readonly TimelineChunkInput[], offsets: readonly number[]): Segment[] =>
  chunks.flatMap((chunk, i) => segmentChunk(chunk, offsets[i]!));
