/**
 * A session transcript as text: readable lines (txt) and captions (SubRip, WebVTT). Pure: no I/O.
 * Cue times are the segment's first word's start and last word's end; a cue is at least 1 ms long,
 * as both formats want an end after the start.
 */
import type { Segment } from './timeline';

/** Where the timeline has no words it should have: a chunk pending, processing, failed or without details, or sequence numbers never uploaded. */
export interface TranscriptGap {
  /** null for sequence numbers no chunk carries. */
  chunk_id: string | null;
  /** The chunk's sequence number; for missing numbers, the first of the run. */
  sequence: number | null;
  /** Seconds from the session's start where the gap begins. */
  offset: number;
  status: string;
  reason: string;
}

/** `HH:MM:SS` + separator + milliseconds: SRT uses a comma, WebVTT a full stop. */
export const captionTime = (seconds: number, separator: ',' | '.'): string => {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const pad = (value: number, width = 2) => String(value).padStart(width, '0');
  return `${pad(Math.floor(ms / 3_600_000))}:${pad(Math.floor(ms / 60_000) % 60)}:${pad(Math.floor(ms / 1000) % 60)}${separator}${pad(ms % 1000, 3)}`;
};

/** `[HH:MM:SS]`, the second the line starts in. */
export const clockTime = (seconds: number): string => `[${captionTime(Math.floor(Math.max(0, seconds)), '.').slice(0, 8)}]`;

/** Caption text on one line: no blank line (which ends a cue) and no `-->` (which starts one). */
const cueText = (text: string) => text.replace(/\s+/g, ' ').replace(/-->/g, '->').trim();

const cueEnd = (segment: Segment) => Math.max(segment.end, segment.start + 0.001);

const speakerPrefix = (segment: Segment) => (segment.speaker ? `${segment.speaker}: ` : '');

export const toSrt = (segments: readonly Segment[]): string =>
  segments
    .map(
      (segment, i) =>
        `${i + 1}\n${captionTime(segment.start, ',')} --> ${captionTime(cueEnd(segment), ',')}\n${cueText(speakerPrefix(segment) + segment.text)}\n`,
    )
    .join('\n');

export const toVtt = (segments: readonly Segment[]): string =>
  `WEBVTT\n\n${segments
    .map(
      (segment) =>
        `${captionTime(segment.start, '.')} --> ${captionTime(cueEnd(segment), '.')}\n${segment.speaker ? `<v ${cueText(segment.speaker)}>` : ''}${cueText(segment.text)}\n`,
    )
    .join('\n')}`;

const gapLabel = (gap: TranscriptGap) =>
  gap.chunk_id === null ? `[${gap.status}: ${gap.reason}]` : `[chunk ${gap.chunk_id}: ${gap.status}]`;

/**
 * One line per segment, `[00:01:02] speaker: text`, and a marker such as `[chunk 3: pending]` where the
 * timeline has a gap, all in time order (a gap before the words that start where it does).
 */
export const toText = (segments: readonly Segment[], gaps: readonly TranscriptGap[]): string => {
  const lines = [
    ...gaps.map((gap, i) => ({ at: gap.offset, order: 0, i, line: gapLabel(gap) })),
    ...segments.map((segment, i) => ({
      at: segment.start,
      order: 1,
      i,
      line: `${clockTime(segment.start)} ${speakerPrefix(segment)}${cueText(segment.text)}`,
    })),
  ]
    .sort((a, b) => a.at - b.at || a.order - b.order || a.i - b.i)
    .map((entry) => entry.line);
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
};
