/**
 * The speech recognizer port: pocketsphinx locally, Amazon Transcribe Streaming on AWS.
 * Adapters take the audio as it was uploaded and convert it to what their engine reads.
 */
import type { AudioFormat } from '../audio/probe';

export interface AudioForTranscription {
  bytes: Uint8Array;
  format: AudioFormat;
  /** From the upload's header, as recorded on the chunk row. */
  sampleRate: number;
  channels: number;
  /** Seconds, exact from the upload's header, as recorded on the chunk row. */
  duration: number;
}

export interface WordTiming {
  word: string;
  /** Seconds from the start of the audio. */
  start: number;
  end: number;
  /** The engine's confidence in this word, in [0, 1]. */
  confidence: number;
}

export interface Transcription {
  /** The recognized words, space-separated; empty when the audio holds no speech. */
  text: string;
  /** Mean word confidence in [0, 1]; 0 when no word was recognized. */
  confidence: number;
  /** The language of the text (BCP 47). */
  language: string;
  /** Seconds of audio, exact from its header. */
  duration: number;
  words: WordTiming[];
  /** Which recognizer produced it, e.g. "pocketsphinx". */
  engine: string;
}

export interface Transcriber {
  readonly engine: string;
  /** Upload formats this recognizer can read; the ingest path refuses others with a 415. */
  readonly acceptedFormats: readonly AudioFormat[];
  /**
   * Recognizes one chunk. Throws invalidInput for audio it cannot decode and dependencyUnavailable
   * when the engine is missing or down; never returns a partial result.
   */
  transcribe(audio: AudioForTranscription): Promise<Transcription>;
  /** Releases processes and connections; later calls to transcribe fail. */
  close(): Promise<void>;
}

/** Mean of the word confidences, clamped to [0, 1]: engines report posteriors that can stray outside. */
export const meanConfidence = (words: readonly Pick<WordTiming, 'confidence'>[]): number => {
  if (words.length === 0) return 0;
  const mean = words.reduce((sum, word) => sum + word.confidence, 0) / words.length;
  return Number.isFinite(mean) ? Math.min(1, Math.max(0, mean)) : 0;
};
