/** What the Amazon Transcribe adapter is and reads; apart from it so wiring can answer without loading the SDK. */
import type { AudioFormat } from '../../core/audio/probe';

export const AWS_TRANSCRIBE_ENGINE = 'aws-transcribe';
/** What Transcribe Streaming reads: PCM (sent from WAV), FLAC, Ogg Opus. */
export const AWS_TRANSCRIBE_FORMATS = ['wav', 'flac', 'ogg'] as const satisfies readonly AudioFormat[];
