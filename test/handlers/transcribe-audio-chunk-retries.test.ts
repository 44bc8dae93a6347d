/**
 * Issue #15, defect 3: a transient failure of the inserted-chunk function must reach Lambda, so its async
 * retries and failure queue act. The real handler over PGlite, the directory store and the Amazon
 * Transcribe adapter, whose client (aws-sdk-client-mock) answers LimitExceededException as the service
 * does past its concurrent-stream quota.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AudioStream,
  BadRequestException,
  LimitExceededException,
  StartStreamTranscriptionCommand,
  type StartStreamTranscriptionCommandInput,
  TranscribeStreamingClient,
  type TranscriptResultStream,
} from '@aws-sdk/client-transcribe-streaming';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadMigrations } from '../../db/migrations';
import { DirectoryObjectStore } from '../../functions/adapters/object-store/directory';
import { openPgliteSql } from '../../functions/adapters/sql/pglite';
import { AwsTranscribeTranscriber } from '../../functions/adapters/transcriber/aws-transcribe';
import { useDependencies } from '../../functions/config';
import { ingestAudioChunk } from '../../functions/core/audio-chunks';
import type { Dependencies } from '../../functions/core/dependencies';
import { migrate } from '../../functions/core/migrations';
import { systemClock } from '../../functions/core/ports/clock';
import type { Sql } from '../../functions/core/ports/sql';
import { createSession } from '../../functions/core/sessions';
import { handler } from '../../functions/handlers/transcribe-audio-chunk';
import { localLambdaContext } from '../../functions/local/lambda-context';
import { objectCreatedEvent } from '../../functions/local/object-notifications';
import { logger } from '../../functions/logger';
import { toneWav } from '../support/audio-fixtures';

const transcribeMock = mockClient(TranscribeStreamingClient);
const client = new TranscribeStreamingClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });

async function* eventsOf(...events: TranscriptResultStream[]): AsyncIterable<TranscriptResultStream> {
  yield* events;
}

/** What Transcribe answers for the tone once it takes the stream: one final result. */
const transcribes = async (input: StartStreamTranscriptionCommandInput) => {
  for await (const _event of input.AudioStream as AsyncIterable<AudioStream>) {
    // the whole stream is read, as the service does
  }
  return {
    TranscriptResultStream: eventsOf({
      TranscriptEvent: {
        Transcript: {
          Results: [
            {
              IsPartial: false,
              LanguageCode: 'en-US',
              Alternatives: [
                { Transcript: 'Hello.', Items: [{ Content: 'Hello', StartTime: 0, EndTime: 0.4, Type: 'pronunciation', Confidence: 0.9 }] },
              ],
            },
          ],
        },
      },
    }),
  };
};

let root: string;
let sql: Sql;
let store: DirectoryObjectStore;
let deps: Dependencies;

const invoke = (key: string) =>
  handler(
    objectCreatedEvent({ key, size: 1, lastModified: new Date().toISOString() }),
    localLambdaContext('interview-ops-transcribe-audio-chunk', 120_000),
  );

const rowOf = async (chunkId: string) =>
  (
    await sql.query<{ transcript_status: string; transcript_attempts: number; transcript_error: string | null }>(
      'SELECT transcript_status, transcript_attempts, transcript_error FROM audio_chunks WHERE chunk_id = CAST(:id AS bigint)',
      { id: chunkId },
    )
  )[0]!;

const upload = () => ingestAudioChunk(deps, { sessionId: 'retry-s', contentType: 'audio/wav', bytes: toneWav({ seconds: 1 }) });

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'interview-ops-transcribe-retries-'));
  sql = await openPgliteSql();
  await migrate(sql, loadMigrations());
  store = await new DirectoryObjectStore(root).open();
  const transcriber = new AwsTranscribeTranscriber({ languageCode: 'en-US', client });
  deps = {
    sql,
    store,
    clock: systemClock,
    logger,
    transcriber,
    audio: { acceptedFormats: transcriber.acceptedFormats, maxBytes: 4 * 1024 * 1024 },
    snapshots: { retentionDays: 7, retentionEnforcedBy: 'scheduler' },
    retention: { objectsExpiredBy: 'sweep' },
  };
  useDependencies(Promise.resolve(deps));
  await createSession({ sql }, { session_id: 'retry-s' });
});

beforeEach(() => transcribeMock.reset());

afterAll(async () => {
  transcribeMock.restore();
  await sql?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('the inserted-chunk handler against Transcribe at its stream quota', () => {
  it('rejects, so Lambda retries; the row is pending, not failed; a second delivery finishes it', async () => {
    const chunk = await upload();
    transcribeMock
      .on(StartStreamTranscriptionCommand)
      .rejectsOnce(new LimitExceededException({ message: 'You have reached your limit of concurrent streams', $metadata: {} }))
      .callsFake(transcribes);

    await expect(invoke(chunk.audio_key)).rejects.toMatchObject({ kind: 'dependency_unavailable', message: 'Speech recognizer busy' });
    const afterFirst = await rowOf(chunk.chunk_id);
    expect(afterFirst).toMatchObject({ transcript_status: 'pending', transcript_attempts: 1 });
    expect(afterFirst.transcript_error).toContain('concurrent streams');

    const second = await invoke(chunk.audio_key);
    expect(second.outcomes).toEqual([{ key: chunk.audio_key, outcome: 'done', chunk_id: chunk.chunk_id, session_id: 'retry-s' }]);
    expect(await rowOf(chunk.chunk_id)).toMatchObject({ transcript_status: 'done', transcript_attempts: 2, transcript_error: null });
    const text = await store.get(`transcripts/retry-s/retry-s_${chunk.chunk_id}.txt`);
    expect(Buffer.from(text!.body).toString()).toBe('Hello.');
    expect(transcribeMock.commandCalls(StartStreamTranscriptionCommand)).toHaveLength(2);
  });

  it('returns normally for audio Transcribe refuses: the chunk is failed, and a retry of the event would change nothing', async () => {
    const chunk = await upload();
    transcribeMock.on(StartStreamTranscriptionCommand).rejects(new BadRequestException({ message: 'bad audio', $metadata: {} }));
    const result = await invoke(chunk.audio_key);
    expect(result.outcomes).toMatchObject([{ outcome: 'failed', chunk_id: chunk.chunk_id }]);
    expect(await rowOf(chunk.chunk_id)).toMatchObject({ transcript_status: 'failed', transcript_attempts: 1 });
  });

  it('returns normally when the audio object is gone: failed, not retried', async () => {
    const chunk = await upload();
    await store.delete([chunk.audio_key]);
    const result = await invoke(chunk.audio_key);
    expect(result.outcomes).toMatchObject([{ outcome: 'failed', chunk_id: chunk.chunk_id }]);
    expect((await rowOf(chunk.chunk_id)).transcript_status).toBe('failed');
    expect(transcribeMock.commandCalls(StartStreamTranscriptionCommand)).toHaveLength(0);
  });
});
