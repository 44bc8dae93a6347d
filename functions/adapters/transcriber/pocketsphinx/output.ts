/** What pocketsphinx_batch writes: progress lines on stderr, one hypothesis line and CTM word lines per utterance. */
import type { WordTiming } from '../../../core/ports/transcriber';

const DECODING_LINE = /^INFO: batch\.c\(\d+\): Decoding '([^']+)'$/;
const DONE_LINE = /^(\S+) done -+$/;
const HYP_LINE = /^(.*) \((\S+) (-?\d+)\)$/;

/** The utterance a stderr line says decoding has started (or finished) for, or null. */
export const decodingStartedFor = (line: string): string | null => DECODING_LINE.exec(line)?.[1] ?? null;
export const decodingDoneFor = (line: string): string | null => DONE_LINE.exec(line)?.[1] ?? null;

export const parseHypothesis = (hypLines: string, id: string): string | null => {
  for (const line of hypLines.split('\n')) {
    const match = HYP_LINE.exec(line);
    if (match && match[2] === id) return match[1]!.trim().split(/\s+/).filter(Boolean).join(' ');
  }
  return null;
};

export const parseCtm = (ctmLines: string, id: string): WordTiming[] =>
  ctmLines
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields.length === 6 && fields[0] === id)
    .map(([, , start, length, word, posterior]) => ({
      word: word!,
      start: Number(start),
      end: Math.round((Number(start) + Number(length)) * 100) / 100,
      confidence: Math.min(1, Math.max(0, Number(posterior))),
    }));
