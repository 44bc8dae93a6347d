/** What the Amazon Transcribe adapter is and reads; apart from it so wiring can answer without loading the SDK. */
import type { AudioFormat } from '../../core/audio/probe';

export const AWS_TRANSCRIBE_ENGINE = 'aws-transcribe';
/** What Transcribe Streaming reads: PCM (sent from WAV), FLAC, Ogg Opus (also remuxed from WebM Opus). */
export const AWS_TRANSCRIBE_FORMATS = ['wav', 'flac', 'ogg', 'webm'] as const satisfies readonly AudioFormat[];
/**
 * What Transcribe Streaming cannot read but batch transcription can: MP4 (Safari's AAC). Until the batch
 * path (issue 17, part B) takes it, uploads of these get a 415 that says so.
 */
export const AWS_TRANSCRIBE_BATCH_ONLY_FORMATS = ['mp4'] as const satisfies readonly AudioFormat[];
