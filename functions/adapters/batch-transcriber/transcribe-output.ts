/**
 * Amazon Transcribe batch's output document, read into a Transcription: the text from
 * results.transcripts, word timings and confidence from the pronunciation items (times are strings of
 * seconds there). Apart from the SDK, so the completion function parses without loading it.
 */
import { invalidInput } from '../../core/errors';
import { meanConfidence, type Transcription, type WordTiming } from '../../core/ports/transcriber';

interface OutputItem {
  type?: string;
  start_time?: string;
  end_time?: string;
  alternatives?: { content?: string; confidence?: string }[];
}

interface OutputDocument {
  results?: { transcripts?: { transcript?: string }[]; items?: OutputItem[]; language_code?: string };
}

export const readTranscribeOutput = (bytes: Uint8Array, fallbackLanguage: string, duration: number, engine: string): Transcription => {
  let document: OutputDocument;
  try {
    document = JSON.parse(Buffer.from(bytes).toString('utf8')) as OutputDocument;
  } catch {
    throw invalidInput('Unreadable transcription output', 'Amazon Transcribe wrote an output that is not JSON');
  }
  const results = document.results;
  if (!results || !Array.isArray(results.transcripts)) {
    throw invalidInput('Unreadable transcription output', 'Amazon Transcribe wrote an output without results');
  }
  const words: WordTiming[] = (results.items ?? [])
    .filter((item) => item.type === 'pronunciation' && item.alternatives?.[0]?.content)
    .map((item) => {
      const start = Number(item.start_time ?? 0);
      return {
        word: item.alternatives![0]!.content!,
        start,
        end: Number(item.end_time ?? start),
        confidence: Math.min(1, Math.max(0, Number(item.alternatives![0]!.confidence ?? 0) || 0)),
      };
    });
  const text = results.transcripts
    .map((transcript) => transcript.transcript?.trim() ?? '')
    .filter(Boolean)
    .join(' ');
  return { text, confidence: meanConfidence(words), language: results.language_code ?? fallbackLanguage, duration, words, engine };
};
