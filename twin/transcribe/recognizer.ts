/**
 * What recognizes the speech behind the stand-in, and how its words become Transcribe's Result shape.
 *
 * By default the project's own pocketsphinx adapter (one `pocketsphinx_batch` kept warm) does the work:
 * each utterance the segmenter cuts is wrapped in a WAV header and handed to it, and the adapter resamples
 * to 16 kHz when the stream's rate differs. Its words come back lower case without punctuation; the
 * service capitalizes and punctuates, so results here do too (first word capitalized, "i" as "I", a
 * full stop as a punctuation item), which is what a client of the real service must already handle.
 */
import { randomUUID } from 'node:crypto';
import { PocketsphinxTranscriber } from '../../functions/adapters/transcriber/pocketsphinx';
import type { Transcriber, WordTiming } from '../../functions/core/ports/transcriber';

export interface SpeechRecognizer {
  /** Words with times in seconds from the start of `samples`. */
  recognize(samples: Int16Array, sampleRate: number): Promise<WordTiming[]>;
  close(): Promise<void>;
}

const wavOf = (samples: Int16Array, sampleRate: number): Buffer => {
  const data = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
};

/** Any of the project's Transcribers that reads WAV, used as the recognizer; `owned` means close() closes it. */
export const transcriberRecognizer = (transcriber: Transcriber, owned = false): SpeechRecognizer => ({
  async recognize(samples, sampleRate) {
    const transcription = await transcriber.transcribe({
      bytes: wavOf(samples, sampleRate),
      format: 'wav',
      sampleRate,
      channels: 1,
      duration: samples.length / sampleRate,
    });
    return transcription.words;
  },
  async close() {
    if (owned) await transcriber.close();
  },
});

const quietLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** The project's pocketsphinx adapter, started warm. */
export const pocketsphinxRecognizer = (): SpeechRecognizer =>
  transcriberRecognizer(new PocketsphinxTranscriber({ logger: quietLogger, warm: true }), true);

/** The members of Transcribe's Item, Alternative and Result this stand-in fills. */
export interface TranscribeItem {
  StartTime: number;
  EndTime: number;
  Type: 'pronunciation' | 'punctuation';
  Content: string;
  Confidence?: number;
  VocabularyFilterMatch: boolean;
}

export interface TranscribeResult {
  ResultId: string;
  StartTime: number;
  EndTime: number;
  IsPartial: boolean;
  Alternatives: { Transcript: string; Items: TranscribeItem[] }[];
  LanguageCode?: string;
  LanguageIdentification?: { LanguageCode: string; Score: number }[];
}

const seconds = (value: number): number => Math.round(value * 1000) / 1000;

/** Pocketsphinx's fillers and alternate pronunciations are not words a client should see. */
const spoken = (word: string): string | undefined => {
  if (/^(<.*>|\[.*\]|\+\+.*\+\+)$/.test(word)) return undefined;
  return word.replace(/\(\d+\)$/, '');
};

/**
 * One final result for an utterance that starts `offset` seconds into the stream; undefined when no word
 * was recognized (the service sends no result for silence).
 */
export const finalResult = (
  words: readonly WordTiming[],
  segment: { start: number; end: number },
  language: { code?: string; identified?: { LanguageCode: string; Score: number }[] },
): TranscribeResult | undefined => {
  const items: TranscribeItem[] = [];
  for (const word of words) {
    const content = spoken(word.word);
    if (!content) continue;
    const cased = content === 'i' || content.startsWith("i'") ? `I${content.slice(1)}` : content;
    items.push({
      StartTime: seconds(segment.start + word.start),
      EndTime: seconds(segment.start + word.end),
      Type: 'pronunciation',
      Content: items.length === 0 ? cased.charAt(0).toUpperCase() + cased.slice(1) : cased,
      Confidence: Math.round(Math.min(1, Math.max(0, word.confidence)) * 10000) / 10000,
      VocabularyFilterMatch: false,
    });
  }
  if (items.length === 0) return undefined;
  const last = items[items.length - 1]!;
  items.push({ StartTime: last.EndTime, EndTime: last.EndTime, Type: 'punctuation', Content: '.', VocabularyFilterMatch: false });
  const transcript = `${items
    .filter((item) => item.Type === 'pronunciation')
    .map((item) => item.Content)
    .join(' ')}.`;
  return {
    ResultId: randomUUID(),
    StartTime: seconds(segment.start),
    EndTime: seconds(segment.end),
    IsPartial: false,
    Alternatives: [{ Transcript: transcript, Items: items }],
    ...(language.code ? { LanguageCode: language.code } : {}),
    ...(language.identified ? { LanguageIdentification: language.identified } : {}),
  };
};

/**
 * A partial result as the service sends them before a final: the same ResultId, IsPartial true, the first
 * half of the words without the closing punctuation, ending where its last word ends. The service sends
 * several as an utterance grows; one is enough to hold clients to reading IsPartial. Undefined for a
 * one-word result.
 */
export const partialOf = (final: TranscribeResult): TranscribeResult | undefined => {
  const alternative = final.Alternatives[0]!;
  const words = alternative.Items.filter((item) => item.Type === 'pronunciation');
  if (words.length < 2) return undefined;
  const items = words.slice(0, Math.ceil(words.length / 2)).map((item) => ({ ...item }));
  return {
    ...final,
    EndTime: items[items.length - 1]!.EndTime,
    IsPartial: true,
    Alternatives: [{ Transcript: items.map((item) => item.Content).join(' '), Items: items }],
  };
};
