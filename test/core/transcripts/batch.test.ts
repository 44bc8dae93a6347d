/**
 * Batch transcription in core on real parts (PGlite, the directory store), with a batch transcriber that
 * records the jobs it is asked to start and whose output is a document in Amazon Transcribe's format:
 * a chunk longer than the run can stream goes to a job; the job's end writes the transcript files through
 * the same path as a streamed run, or records the failure; an end for a job the chunk no longer waits
 * for changes nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadMigrations } from '../../../db/migrations';
import { readTranscribeOutput } from '../../../functions/adapters/batch-transcriber/transcribe-output';
import { DirectoryObjectStore } from '../../../functions/adapters/object-store/directory';
import { openPgliteSql } from '../../../functions/adapters/sql/pglite';
import { findAudioChunk, ingestAudioChunk } from '../../../functions/core/audio-chunks';
import { dependencyUnavailable } from '../../../functions/core/errors';
import { BATCH_JOB_PREFIX, transcribeOutputKeyFor } from '../../../functions/core/keys';
import { migrate } from '../../../functions/core/migrations';
import type { BatchJob, BatchTranscriber } from '../../../functions/core/ports/batch-transcriber';
import type { Sql } from '../../../functions/core/ports/sql';
import type { Transcriber } from '../../../functions/core/ports/transcriber';
import { createSession } from '../../../functions/core/sessions';
import { completeBatchTranscription, parseBatchJobName } from '../../../functions/core/transcripts/batch';
import { transcribeInsertedAudio } from '../../../functions/core/transcripts/on-insert';
import { processChunk } from '../../../functions/core/transcripts/process-chunk';
import { getTranscriptFile } from '../../../functions/core/transcripts/transcript-files';
import { toneWav } from '../../support/audio-fixtures';
import { silentLogger } from '../../support/silent-logger';

let root: string;
let sql: Sql;
let store: DirectoryObjectStore;
const SESSION = 'batch-core';

let started: BatchJob[] = [];
let startFailure: Error | undefined;
const batchTranscriber: BatchTranscriber = {
  engine: 'aws-transcribe',
  acceptedFormats: ['wav', 'flac', 'ogg'],
  start: async (job) => {
    if (startFailure) throw startFailure;
    started.push(job);
  },
  readOutput: (output, duration) => readTranscribeOutput(output, 'en-US', duration, 'aws-transcribe'),
};
/** The streaming recognizer: never reached for a chunk that goes to batch. */
const streaming: Transcriber = {
  engine: 'aws-transcribe',
  acceptedFormats: ['wav', 'flac', 'ogg'],
  transcribe: () => Promise.reject(new Error('streamed a chunk that should have gone to batch')),
  close: async () => {},
};
const deps = () => ({
  sql,
  store,
  logger: silentLogger,
  transcriber: streaming,
  batchTranscriber,
  audio: { acceptedFormats: ['wav'] as const, maxBytes: 4 * 1024 * 1024, maxOnDemandSeconds: 15 },
});

/** What Amazon Transcribe writes for a job that heard two words. */
const OUTPUT = {
  jobName: 'x',
  accountId: '000000000000',
  status: 'COMPLETED',
  results: {
    transcripts: [{ transcript: 'Hello there.' }],
    items: [
      { type: 'pronunciation', start_time: '0.5', end_time: '0.9', alternatives: [{ confidence: '0.9', content: 'Hello' }] },
      { type: 'pronunciation', start_time: '1.0', end_time: '1.4', alternatives: [{ confidence: '0.7', content: 'there' }] },
      { type: 'punctuation', alternatives: [{ confidence: '0.0', content: '.' }] },
    ],
  },
};

const statusOf = async (chunkId: string) => (await findAudioChunk({ sql }, chunkId))!;

/** A chunk of `seconds`, uploaded and handed to a run with `runSeconds` before its deadline. */
const insertAndRun = async (seconds: number, runSeconds: number) => {
  const chunk = await ingestAudioChunk(deps(), {
    sessionId: SESSION,
    contentType: 'audio/wav',
    bytes: toneWav({ sampleRate: 8000, seconds }),
  });
  const outcomes = await transcribeInsertedAudio(deps(), [chunk.audio_key], { deadline: Date.now() + runSeconds * 1000, runId: 'req-1' });
  return { chunk, outcomes };
};

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'interview-ops-batch-'));
  sql = await openPgliteSql();
  await migrate(sql, loadMigrations());
  store = await new DirectoryObjectStore(root).open();
  await createSession({ sql }, { session_id: SESSION });
});

beforeEach(() => {
  started = [];
  startFailure = undefined;
});

afterAll(async () => {
  await sql?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('handing a chunk to batch', () => {
  it('starts a job for a chunk longer than the run can stream, and keeps it processing under the job', async () => {
    // 30 s of audio and 20 s left: streaming it would outlast the run.
    const { chunk, outcomes } = await insertAndRun(30, 20);
    expect(outcomes).toEqual([expect.objectContaining({ outcome: 'batch', chunk_id: chunk.chunk_id, job: started[0]!.jobName })]);
    expect(started).toEqual([
      {
        jobName: expect.stringMatching(new RegExp(`^${BATCH_JOB_PREFIX}${chunk.chunk_id}-a1-[0-9a-f]{12}$`)),
        mediaKey: chunk.audio_key,
        format: 'wav',
        outputKey: transcribeOutputKeyFor(SESSION, started[0]!.jobName),
      },
    ]);
    expect(parseBatchJobName(started[0]!.jobName)).toEqual({ chunkId: chunk.chunk_id, attempt: 1 });
    const row = await statusOf(chunk.chunk_id);
    expect(row.transcript_status).toBe('processing');
    // The lease outlives the run: it covers the job.
    expect(Date.parse(row.transcript_lease_expires_at!) - Date.now()).toBeGreaterThan(3600_000);
  });

  it('streams a chunk that fits the run, starting no job', async () => {
    const { outcomes } = await insertAndRun(2, 120);
    expect(started).toEqual([]);
    // The streaming stand-in refuses, which shows the chunk went to streaming.
    expect(outcomes[0]).toMatchObject({ outcome: 'failed' });
  });

  it('leaves the chunk pending, and throws for a retry, when Transcribe is throttled', async () => {
    startFailure = dependencyUnavailable('Speech recognizer busy', 'throttled');
    const chunk = await ingestAudioChunk(deps(), {
      sessionId: SESSION,
      contentType: 'audio/wav',
      bytes: toneWav({ sampleRate: 8000, seconds: 30 }),
    });
    await expect(transcribeInsertedAudio(deps(), [chunk.audio_key], { deadline: Date.now() + 20_000 })).rejects.toThrow('busy');
    expect((await statusOf(chunk.chunk_id)).transcript_status).toBe('pending');
  });
});

describe("a job's end", () => {
  it('writes the transcript files from the output and marks the chunk done', async () => {
    const { chunk } = await insertAndRun(30, 20);
    const job = started[0]!;
    await store.put(job.outputKey, JSON.stringify(OUTPUT), { contentType: 'application/json' });
    const outcome = await completeBatchTranscription(deps(), { jobName: job.jobName, status: 'COMPLETED' });
    expect(outcome).toEqual({ outcome: 'done', chunk_id: chunk.chunk_id, session_id: SESSION });
    expect((await statusOf(chunk.chunk_id)).transcript_status).toBe('done');
    const file = await getTranscriptFile(deps(), SESSION, chunk.chunk_id);
    expect(file).toMatchObject({ transcript: 'Hello there.', confidence: 0.8, duration: 30, language: 'en-US' });
    expect(file.words).toEqual([
      { word: 'Hello', start: 0.5, end: 0.9, confidence: 0.9 },
      { word: 'there', start: 1, end: 1.4, confidence: 0.7 },
    ]);
    // The same event again (EventBridge delivers at least once) changes nothing.
    expect(await completeBatchTranscription(deps(), { jobName: job.jobName, status: 'COMPLETED' })).toMatchObject({ outcome: 'skipped' });
  });

  it('records why a failed job failed', async () => {
    const { chunk } = await insertAndRun(30, 20);
    await completeBatchTranscription(deps(), { jobName: started[0]!.jobName, status: 'FAILED', failureReason: 'The media is corrupt.' });
    const row = await statusOf(chunk.chunk_id);
    expect(row.transcript_status).toBe('failed');
    expect(row.transcript_error).toContain('The media is corrupt.');
  });

  it('ignores the end of a job its chunk no longer waits for, and names that are not its jobs', async () => {
    const { chunk } = await insertAndRun(30, 20);
    const stale = started[0]!.jobName.replace(/[0-9a-f]{12}$/, '000000000000');
    expect(await completeBatchTranscription(deps(), { jobName: stale, status: 'FAILED' })).toMatchObject({ outcome: 'skipped' });
    expect(await completeBatchTranscription(deps(), { jobName: 'someone-elses-job', status: 'FAILED' })).toMatchObject({
      outcome: 'skipped',
    });
    expect((await statusOf(chunk.chunk_id)).transcript_status).toBe('processing');
  });
});

describe('POST /process_chunk on a chunk only batch can take', () => {
  it('retries a failed job with a new one, whose end completes the chunk', async () => {
    const { chunk } = await insertAndRun(30, 20);
    await completeBatchTranscription(deps(), { jobName: started[0]!.jobName, status: 'FAILED', failureReason: 'Internal failure.' });
    expect((await statusOf(chunk.chunk_id)).transcript_status).toBe('failed');

    // 30 s is over the on-demand limit: streamed, it would be refused 413; batch takes it.
    const handed = await processChunk(deps(), { chunkId: chunk.chunk_id, sessionId: SESSION, deadline: Date.now() + 29_000 });
    const retry = started[1]!;
    expect(handed).toEqual({ chunk_id: chunk.chunk_id, session_id: SESSION, transcript_status: 'processing', job: retry.jobName });
    expect(parseBatchJobName(retry.jobName)).toEqual({ chunkId: chunk.chunk_id, attempt: 2 });
    // While that job runs, another request is told so rather than starting a second job.
    await expect(processChunk(deps(), { chunkId: chunk.chunk_id, deadline: Date.now() + 29_000 })).rejects.toMatchObject({
      kind: 'conflict',
      message: 'Transcription in progress',
    });
    expect(started).toHaveLength(2);

    await store.put(retry.outputKey, JSON.stringify(OUTPUT), { contentType: 'application/json' });
    expect(await completeBatchTranscription(deps(), { jobName: retry.jobName, status: 'COMPLETED' })).toMatchObject({ outcome: 'done' });
    expect(await getTranscriptFile(deps(), SESSION, chunk.chunk_id)).toMatchObject({ transcript: 'Hello there.' });
  });

  it('streams a chunk that fits the route, starting no job', async () => {
    const chunk = await ingestAudioChunk(deps(), {
      sessionId: SESSION,
      contentType: 'audio/wav',
      bytes: toneWav({ sampleRate: 8000, seconds: 2 }),
    });
    // The streaming stand-in refuses, which shows the chunk went to streaming.
    await expect(processChunk(deps(), { chunkId: chunk.chunk_id, deadline: Date.now() + 29_000 })).rejects.toThrow(
      'should have gone to batch',
    );
    expect(started).toEqual([]);
  });
});

describe("Amazon Transcribe's output document", () => {
  it('refuses what is not one', () => {
    expect(() => readTranscribeOutput(Buffer.from('not json'), 'en-US', 1, 'aws-transcribe')).toThrow(
      expect.objectContaining({ detail: expect.stringContaining('not JSON') }),
    );
    expect(() => readTranscribeOutput(Buffer.from('{}'), 'en-US', 1, 'aws-transcribe')).toThrow(
      expect.objectContaining({ detail: expect.stringContaining('without results') }),
    );
  });

  it('takes an identified language over the configured one', () => {
    const output = { results: { transcripts: [{ transcript: '' }], items: [], language_code: 'es-US' } };
    expect(readTranscribeOutput(Buffer.from(JSON.stringify(output)), 'en-US', 3, 'aws-transcribe')).toEqual({
      text: '',
      confidence: 0,
      language: 'es-US',
      duration: 3,
      words: [],
      engine: 'aws-transcribe',
    });
  });
});
