/**
 * Amazon Transcribe batch jobs: StartTranscriptionJob reads the chunk's audio straight from the bucket
 * and writes its output back there, both with the caller's own permissions (no data access role, so no
 * iam:PassRole). The job's end comes as an EventBridge event (functions/handlers/complete-batch-transcription.ts).
 */
import { type LanguageCode, type MediaFormat, StartTranscriptionJobCommand, type TranscribeClient } from '@aws-sdk/client-transcribe';
import type { AudioFormat } from '../../core/audio/probe';
import { conflict, dependencyUnavailable, invalidInput } from '../../core/errors';
import type { BatchJob, BatchTranscriber } from '../../core/ports/batch-transcriber';
import { AWS_TRANSCRIBE_ENGINE } from '../transcriber/aws-transcribe-identity';
import { AWS_TRANSCRIBE_BATCH_FORMATS } from './aws-transcribe-batch-identity';
import { readTranscribeOutput } from './transcribe-output';

const MEDIA_FORMAT: Record<AudioFormat, MediaFormat> = { wav: 'wav', flac: 'flac', ogg: 'ogg', webm: 'webm', mp4: 'mp4' };

export interface AwsTranscribeBatchOptions {
  client: TranscribeClient;
  bucket: string;
  languageCode: string;
  /** Two or more codes: Transcribe identifies the language among them. */
  identifyLanguageOptions?: readonly string[];
}

/** Throttling and outages may pass; a refused job or a taken name will not. */
const toDomainError = (error: unknown): Error => {
  const name = (error as { name?: string } | null)?.name;
  if (name === 'BadRequestException') return invalidInput('Audio could not be transcribed', 'Amazon Transcribe refused the batch job');
  if (name === 'ConflictException') return conflict('Transcription job exists', 'A batch job of that name already exists');
  if (name === 'LimitExceededException') {
    return dependencyUnavailable('Speech recognizer busy', 'Amazon Transcribe is at its limit of batch jobs; try again shortly');
  }
  return dependencyUnavailable('Speech recognizer unavailable', 'Amazon Transcribe did not answer; try again shortly');
};

export class AwsTranscribeBatch implements BatchTranscriber {
  readonly engine = AWS_TRANSCRIBE_ENGINE;
  readonly acceptedFormats = AWS_TRANSCRIBE_BATCH_FORMATS;

  constructor(private readonly options: AwsTranscribeBatchOptions) {}

  async start(job: BatchJob): Promise<void> {
    const identify = (this.options.identifyLanguageOptions?.length ?? 0) >= 2;
    await this.options.client
      .send(
        new StartTranscriptionJobCommand({
          TranscriptionJobName: job.jobName,
          Media: { MediaFileUri: `s3://${this.options.bucket}/${job.mediaKey}` },
          MediaFormat: MEDIA_FORMAT[job.format],
          OutputBucketName: this.options.bucket,
          OutputKey: job.outputKey,
          ...(identify
            ? { IdentifyLanguage: true, LanguageOptions: this.options.identifyLanguageOptions as LanguageCode[] }
            : { LanguageCode: this.options.languageCode as LanguageCode }),
        }),
      )
      .catch((error: unknown) => {
        throw toDomainError(error);
      });
  }

  readOutput(output: Uint8Array, duration: number) {
    return readTranscribeOutput(output, this.options.languageCode, duration, this.engine);
  }
}
