/**
 * The batch speech recognizer port: Amazon Transcribe batch jobs on AWS, for chunks longer than a
 * Lambda can stream or in formats streaming does not read. A job reads its audio from the store and
 * writes its output there; its end arrives later as an event (functions/core/transcripts/batch.ts).
 * Locally there is none: pocketsphinx takes any length.
 */
import type { AudioFormat } from '../audio/probe';
import type { Transcription } from './transcriber';

export interface BatchJob {
  /** Unique in the account; names the chunk and the claim (functions/core/transcripts/batch.ts). */
  jobName: string;
  /** The audio's key in the store. */
  mediaKey: string;
  format: AudioFormat;
  /** Where the job writes its output, in the store. */
  outputKey: string;
}

export interface BatchTranscriber {
  readonly engine: string;
  readonly acceptedFormats: readonly AudioFormat[];
  /** Starts the job. Throws dependencyUnavailable when the service is throttled or down, invalidInput when it refuses the job. */
  start(job: BatchJob): Promise<void>;
  /** The transcription in a finished job's output; `duration` is the chunk's, from its header. */
  readOutput(output: Uint8Array, duration: number): Transcription;
}
