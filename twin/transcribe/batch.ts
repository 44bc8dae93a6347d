/**
 * The twin's Amazon Transcribe batch: the JSON protocol (X-Amz-Target Transcribe.StartTranscriptionJob /
 * GetTranscriptionJob), authorized by the IAM gate (on '*': the actions have no resource type). A job runs as Transcribe runs it:
 * it reads the media through the twin's S3 with the caller's own credentials (so the caller's role must
 * allow s3:GetObject on it, and s3:PutObject where the output goes), recognizes it with pocketsphinx,
 * writes Transcribe's output document, and announces "Transcribe Job State Change" to EventBridge.
 * failJobs(reason) makes every job run from then on end FAILED with that FailureReason, as Transcribe fails
 * a job whose media it cannot use, until failJobs(undefined).
 */
import { createServer, type IncomingMessage } from 'node:http';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PocketsphinxTranscriber } from '../../functions/adapters/transcriber/pocketsphinx';
import { type AudioFormat, CANONICAL_MEDIA_TYPE, probeAudio } from '../../functions/core/audio/probe';
import type { Transcriber } from '../../functions/core/ports/transcriber';
import type { Gate } from '../iam/gate';
import { secretOfAccessKey, sessionTokenOfAccessKey, TWIN_ACCOUNT, TWIN_REGION } from '../identity';
import { listenOnLoopback } from '../listen';

export interface TranscriptionJobEnd {
  'detail-type': 'Transcribe Job State Change';
  source: 'aws.transcribe';
  detail: { TranscriptionJobName: string; TranscriptionJobStatus: 'COMPLETED' | 'FAILED'; FailureReason?: string };
}

export interface TranscribeBatchOptions {
  gate: Pick<Gate, 'authorize'>;
  /** The twin's S3 endpoint: media and output go through it, with the caller's credentials. */
  s3Url: string;
  /** EventBridge: where each job's end is announced. */
  onJobEnded(event: TranscriptionJobEnd): void;
  /** Defaults to the project's pocketsphinx adapter, kept warm. */
  transcriber?: Transcriber;
}

export interface TranscribeBatch {
  url: string;
  /** Every job started from now on fails with this FailureReason; undefined: jobs run again. */
  failJobs(reason: string | undefined): void;
  /** Resolves when every job started so far has ended. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

interface Job {
  TranscriptionJobName: string;
  TranscriptionJobStatus: 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';
  LanguageCode?: string;
  MediaFormat?: string;
  Media: { MediaFileUri: string };
  Transcript?: { TranscriptFileUri: string };
  FailureReason?: string;
  CreationTime: number;
  CompletionTime?: number;
}

const JOB_NAME = /^[0-9a-zA-Z._-]{1,200}$/;

const readBody = (request: IncomingMessage) =>
  new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });

const s3Location = (uri: string) => /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);

export const startTranscribeBatch = async (options: TranscribeBatchOptions): Promise<TranscribeBatch> => {
  const quiet = { debug() {}, info() {}, warn() {}, error() {} };
  const transcriber = options.transcriber ?? new PocketsphinxTranscriber({ logger: quiet, warm: true });
  const jobs = new Map<string, Job>();
  const running = new Set<Promise<void>>();
  let failureReason: string | undefined;

  const run = async (job: Job, request: { accessKeyId: string; outputBucket: string; outputKey: string; language: string }) => {
    // Transcribe acts with the caller's permissions: the S3 calls are signed with the caller's key.
    const s3 = new S3Client({
      endpoint: options.s3Url,
      region: TWIN_REGION,
      forcePathStyle: true,
      credentials: {
        accessKeyId: request.accessKeyId,
        secretAccessKey: secretOfAccessKey(request.accessKeyId),
        sessionToken: sessionTokenOfAccessKey(request.accessKeyId),
      },
    });
    try {
      if (failureReason !== undefined) throw new Error(failureReason);
      const [, bucket, key] = s3Location(job.Media.MediaFileUri)!;
      const media = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: decodeURIComponent(key!) })).catch((error: Error) => {
        throw new Error(`The media file could not be read: ${error.name}`);
      });
      const bytes = await media.Body!.transformToByteArray();
      // pocketsphinx decodes every format the service accepts (through ffmpeg where it is not WAV).
      const format = job.MediaFormat as AudioFormat;
      if (!(format in CANONICAL_MEDIA_TYPE)) throw new Error(`The twin reads no ${job.MediaFormat} media`);
      const { sampleRate, channels, duration } = probeAudio(bytes, CANONICAL_MEDIA_TYPE[format], [format]);
      const transcription = await transcriber.transcribe({ bytes, format, sampleRate, channels, duration });
      const words = transcription.words.map((word, index) => ({
        ...word,
        word: index === 0 ? word.word.charAt(0).toUpperCase() + word.word.slice(1) : word.word,
      }));
      const text = words.length > 0 ? `${words.map((word) => word.word).join(' ')}.` : '';
      const output = {
        jobName: job.TranscriptionJobName,
        accountId: TWIN_ACCOUNT,
        status: 'COMPLETED',
        results: {
          transcripts: [{ transcript: text }],
          items: [
            ...words.map((word) => ({
              type: 'pronunciation',
              start_time: word.start.toFixed(3),
              end_time: word.end.toFixed(3),
              alternatives: [{ confidence: word.confidence.toFixed(4), content: word.word }],
            })),
            ...(words.length > 0 ? [{ type: 'punctuation', alternatives: [{ confidence: '0.0', content: '.' }] }] : []),
          ],
        },
      };
      await s3
        .send(
          new PutObjectCommand({
            Bucket: request.outputBucket,
            Key: request.outputKey,
            Body: JSON.stringify(output),
            ContentType: 'application/json',
          }),
        )
        .catch((error: Error) => {
          throw new Error(`The output could not be written: ${error.name}`);
        });
      Object.assign(job, {
        TranscriptionJobStatus: 'COMPLETED',
        CompletionTime: Date.now() / 1000,
        Transcript: { TranscriptFileUri: `s3://${request.outputBucket}/${request.outputKey}` },
      });
    } catch (error) {
      Object.assign(job, { TranscriptionJobStatus: 'FAILED', CompletionTime: Date.now() / 1000, FailureReason: (error as Error).message });
    } finally {
      s3.destroy();
    }
    options.onJobEnded({
      'detail-type': 'Transcribe Job State Change',
      source: 'aws.transcribe',
      detail: {
        TranscriptionJobName: job.TranscriptionJobName,
        TranscriptionJobStatus: job.TranscriptionJobStatus as 'COMPLETED' | 'FAILED',
        ...(job.FailureReason ? { FailureReason: job.FailureReason } : {}),
      },
    });
  };

  const server = createServer((request, response) => {
    const answer = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(body));
    };
    const fail = (status: number, type: string, message: string) => answer(status, { __type: type, Message: message });
    void (async () => {
      const body = await readBody(request);
      const target = String(request.headers['x-amz-target'] ?? '');
      const operation = target.replace(/^Transcribe\./, '');
      let input: Record<string, any>;
      try {
        input = JSON.parse(body.toString('utf8') || '{}');
      } catch {
        return fail(400, 'SerializationException', 'The body is not JSON');
      }
      const name = String(input.TranscriptionJobName ?? '');
      if (!JOB_NAME.test(name)) return fail(400, 'BadRequestException', 'TranscriptionJobName must match ^[0-9a-zA-Z._-]+');
      const url = new URL(request.url ?? '/', 'http://localhost');
      // Neither action has a resource type in IAM: policies grant them on '*'.
      const checks = [{ action: `transcribe:${operation}`, resource: '*' }];
      const gate = await options.gate.authorize(
        'transcribe',
        { method: request.method ?? 'POST', path: url.pathname, query: url.search.slice(1), headers: request.headers, body },
        checks,
      );
      if (!gate.allowed) return fail(gate.status, gate.code, gate.message);
      if (operation === 'GetTranscriptionJob') {
        const job = jobs.get(name);
        return job ? answer(200, { TranscriptionJob: job }) : fail(400, 'NotFoundException', 'The requested job could not be found');
      }
      if (operation !== 'StartTranscriptionJob') return fail(400, 'UnknownOperationException', `The twin does not implement ${operation}`);
      if (jobs.has(name)) return fail(409, 'ConflictException', 'The requested job name already exists. Use a different job name.');
      const media = s3Location(String(input.Media?.MediaFileUri ?? ''));
      if (!media) return fail(400, 'BadRequestException', 'Media.MediaFileUri must be an s3:// URI');
      if (!input.LanguageCode && !input.IdentifyLanguage) return fail(400, 'BadRequestException', 'Give LanguageCode or IdentifyLanguage');
      const outputBucket = String(input.OutputBucketName ?? '');
      if (!outputBucket) return fail(400, 'BadRequestException', 'The twin needs OutputBucketName (no service-managed output)');
      const outputKey = String(input.OutputKey ?? `${name}.json`);
      const job: Job = {
        TranscriptionJobName: name,
        TranscriptionJobStatus: 'IN_PROGRESS',
        ...(input.LanguageCode ? { LanguageCode: String(input.LanguageCode) } : {}),
        ...(input.MediaFormat ? { MediaFormat: String(input.MediaFormat) } : {}),
        Media: { MediaFileUri: String(input.Media.MediaFileUri) },
        CreationTime: Date.now() / 1000,
      };
      jobs.set(name, job);
      const authorization = String(request.headers.authorization ?? '');
      const accessKeyId = /Credential=([^/]+)\//.exec(authorization)?.[1] ?? '';
      const work = run(job, { accessKeyId, outputBucket, outputKey, language: job.LanguageCode ?? 'en-US' });
      running.add(work);
      void work.finally(() => running.delete(work));
      return answer(200, { TranscriptionJob: job });
    })().catch((error: unknown) => fail(500, 'InternalFailureException', (error as Error).message));
  });
  const url = await listenOnLoopback(server);
  return {
    url,
    failJobs: (reason) => {
      failureReason = reason;
    },
    settled: async () => {
      while (running.size) await Promise.allSettled([...running]);
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await Promise.allSettled([...running]);
      if (!options.transcriber) await transcriber.close();
    },
  };
};
