/** What Amazon Transcribe batch reads; apart from the adapter so wiring can answer without loading the SDK. */
import type { AudioFormat } from '../../core/audio/probe';

export const AWS_TRANSCRIBE_BATCH_FORMATS = ['wav', 'flac', 'ogg', 'webm', 'mp4'] as const satisfies readonly AudioFormat[];
