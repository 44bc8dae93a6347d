/**
 * The transcript lifecycle in core, on real parts: PGlite (in memory), the directory store, the warm
 * pocketsphinx recognizer. Status moves pending → processing → done | failed; a failure keeps the audio
 * and its reason and is logged with the ids; a repeated event is skipped; POST /process_chunk's core retries.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations } from '../../db/migrations';
import { DirectoryObjectStore } from '../../functions/adapters/object-store/directory';
import { openPgliteSql } from '../../functions/adapters/sql/pglite';
import { PocketsphinxTranscriber } from '../../functions/adapters/transcriber/pocketsphinx';
import { findAudioChunk, ingestAudioChunk } from '../../functions/core/audio-chunks';
import { type DomainError, dependencyUnavailable } from '../../functions/core/errors';
import { migrate } from '../../functions/core/migrations';
import type { LogAttributes, Logger } from '../../functions/core/ports/logger';
import type { Sql } from '../../functions/core/ports/sql';
import type { Transcriber } from '../../functions/core/ports/transcriber';
import { createSession } from '../../functions/core/sessions';
import { transcribeInsertedAudio } from '../../functions/core/transcripts/on-insert';
import { TRANSCRIPTION_MARGIN_SECONDS } from '../../functions/core/transcripts/run-deadline';
import { claimTranscription, endTranscription } from '../../functions/core/transcripts/status';
import { transcribeChunk } from '../../functions/core/transcripts/transcribe-chunk';
import { getTranscriptFile } from '../../functions/core/transcripts/transcript-files';
import { realWav } from '../support/audio-fixtures';

let root: string;
let sql: Sql;
let store: DirectoryObjectStore;
let recognizer: PocketsphinxTranscriber;
const logged: { level: string; message: string; attributes: LogAttributes }[] = [];
const logger: Logger = Object.fromEntries(
  (['debug', 'info', 'warn', 'error'] as const).map((level) => [
    level,
    (message: string, ...attributes: LogAttributes[]) => logged.push({ level, message, attributes: Object.assign({}, ...attributes) }),
  ]),
) as unknown as Logger;

/** Statuses the row showed while the recognizer was working. */
const seenDuringTranscription: string[] = [];
let transcriber: Transcriber;

const statusOf = async (chunkId: string) =>
  (
    await sql.query<{ transcript_status: string; transcript_error: string | null; transcript_updated_at: string | null }>(
      'SELECT transcript_status, transcript_error, transcript_updated_at FROM audio_chunks WHERE chunk_id = CAST(:id AS bigint)',
      { id: chunkId },
    )
  )[0]!;

/** A run with the inserted-chunk function's two minutes ahead of it. */
const run = (seconds = 120) => ({ deadline: Date.now() + seconds * 1000 });

const deps = () => ({ sql, store, transcriber, logger, audio: { acceptedFormats: ['wav'] as const, maxBytes: 4 * 1024 * 1024 } });

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'interview-ops-transcripts-core-'));
  sql = await openPgliteSql();
  await migrate(sql, loadMigrations());
  store = await new DirectoryObjectStore(root).open();
  recognizer = new PocketsphinxTranscriber({ logger, warm: true });
  // The real recognizer, watched: what does the row say while it runs?
  transcriber = {
    engine: recognizer.engine,
    acceptedFormats: recognizer.acceptedFormats,
    close: () => recognizer.close(),
    transcribe: async (audio) => {
      const [row] = await sql.query<{ transcript_status: string }>(
        'SELECT transcript_status FROM audio_chunks ORDER BY transcript_updated_at DESC NULLS LAST LIMIT 1',
      );
      seenDuringTranscription.push(row!.transcript_status);
      return recognizer.transcribe(audio);
    },
  };
  await createSession({ sql }, { session_id: 'core-s' });
});

afterAll(async () => {
  await recognizer?.close();
  await sql?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('automatic transcription of an inserted chunk', () => {
  let chunkId: string;
  let audioKey: string;

  it('moves the row pending → processing → done and writes the transcript', async () => {
    const chunk = await ingestAudioChunk(deps(), { sessionId: 'core-s', contentType: 'audio/wav', bytes: realWav('cards/004.wav') });
    chunkId = chunk.chunk_id;
    audioKey = chunk.audio_key;
    expect((await statusOf(chunkId)).transcript_status).toBe('pending');

    expect(await transcribeInsertedAudio(deps(), [audioKey], run())).toEqual([
      { key: audioKey, outcome: 'done', chunk_id: chunkId, session_id: 'core-s' },
    ]);
    expect(seenDuringTranscription.at(-1)).toBe('processing');
    const row = await statusOf(chunkId);
    expect(row).toMatchObject({ transcript_status: 'done', transcript_error: null });
    expect(row.transcript_updated_at).toMatch(/Z$/);
    const text = await store.get(`transcripts/core-s/core-s_${chunkId}.txt`);
    expect(Buffer.from(text!.body).toString()).toBe('five five');
    expect(text!.object.metadata).toMatchObject({ language: 'en', engine: 'pocketsphinx', chunk_id: chunkId, session_id: 'core-s' });
  });

  it('skips a repeated event for a chunk already done', async () => {
    const calls = seenDuringTranscription.length;
    expect(await transcribeInsertedAudio(deps(), [audioKey], run())).toEqual([
      { key: audioKey, outcome: 'skipped', reason: 'already transcribed' },
    ]);
    expect(seenDuringTranscription.length).toBe(calls);
  });

  it('skips keys that are not audio chunks, or whose chunk row does not match', async () => {
    const outcomes = await transcribeInsertedAudio(
      deps(),
      ['snapshots/snapshot_20240101_000000.json', 'audio/core-s/999999.wav', `audio/other/${chunkId}.wav`],
      run(),
    );
    expect(outcomes.map((outcome) => outcome.outcome)).toEqual(['skipped', 'skipped', 'skipped']);
  });
});

describe('a failed automatic transcription', () => {
  let chunkId: string;
  let audioKey: string;
  let audio: Uint8Array;

  it('is recorded on the row with its reason and logged with the ids, without throwing', async () => {
    audio = realWav('cards/003.wav');
    const chunk = await ingestAudioChunk(deps(), { sessionId: 'core-s', contentType: 'audio/wav', bytes: audio });
    chunkId = chunk.chunk_id;
    audioKey = chunk.audio_key;
    // The object vanishes between the event and the transcription.
    await store.delete([audioKey]);
    const [outcome] = await transcribeInsertedAudio(deps(), [audioKey], run());
    expect(outcome).toMatchObject({ outcome: 'failed', chunk_id: chunkId, session_id: 'core-s' });
    const row = await statusOf(chunkId);
    expect(row.transcript_status).toBe('failed');
    expect(row.transcript_error).toContain('no longer stored');
    const entry = logged.find((line) => line.level === 'error' && line.attributes.chunk_id === chunkId);
    expect(entry?.attributes.session_id).toBe('core-s');
  });

  it('stays retriable: once the audio is back, the on-demand call transcribes it', async () => {
    await store.put(audioKey, audio, { contentType: 'audio/wav' });
    const transcript = await transcribeChunk(deps(), { chunkId, sessionId: 'core-s', ...run() });
    expect(transcript).toMatchObject({
      chunk_id: chunkId,
      session_id: 'core-s',
      transcript: 'seven of clubs',
      language: 'en',
      success: true,
    });
    expect(await statusOf(chunkId)).toMatchObject({ transcript_status: 'done', transcript_error: null });
  });

  it('refuses a session that is not the chunk with the same 404 as an unknown chunk', async () => {
    const wrong = await transcribeChunk(deps(), { chunkId, sessionId: 'someone-else', ...run() }).catch((error: Error) => error);
    const unknown = await transcribeChunk(deps(), { chunkId: '424242', sessionId: 'someone-else', ...run() }).catch(
      (error: Error) => error,
    );
    expect(wrong).toMatchObject({ kind: 'not_found', message: 'Audio chunk not found' });
    expect(unknown).toMatchObject({ kind: 'not_found', message: 'Audio chunk not found' });
    expect((await statusOf(chunkId)).transcript_status).toBe('done');
  });
});

/** A transcriber that fails with `error` until told to pass calls on to the real recognizer. */
const scripted = () => {
  const state = { calls: 0, failWith: undefined as Error | undefined };
  const stand: Transcriber = {
    engine: recognizer.engine,
    acceptedFormats: recognizer.acceptedFormats,
    close: async () => {},
    transcribe: async (audio) => {
      state.calls += 1;
      if (state.failWith) throw state.failWith;
      return recognizer.transcribe(audio);
    },
  };
  return { state, deps: () => ({ ...deps(), transcriber: stand }) };
};

const leaseOf = async (chunkId: string) =>
  (
    await sql.query<{
      transcript_status: string;
      transcript_attempts: number;
      transcript_lease_expires_at: string | null;
      transcript_error: string | null;
    }>(
      `SELECT transcript_status, transcript_attempts, transcript_lease_expires_at, transcript_error FROM audio_chunks WHERE chunk_id = CAST(:id AS bigint)`,
      { id: chunkId },
    )
  )[0]!;

const upload = (name: string) => ingestAudioChunk(deps(), { sessionId: 'core-s', contentType: 'audio/wav', bytes: realWav(name) });

describe('a failure a retry may cure (issue #15, defect 3)', () => {
  it('leaves an inserted chunk pending with the attempt counted, rethrows, and the next delivery finishes it', async () => {
    const chunk = await upload('cards/005.wav');
    const recognizerOf = scripted();
    recognizerOf.state.failWith = dependencyUnavailable(
      'Speech recognizer busy',
      'Amazon Transcribe is at its limit of concurrent streams; try again shortly',
    );

    const failure = await transcribeInsertedAudio(recognizerOf.deps(), [chunk.audio_key], run()).catch((error: unknown) => error);
    expect(failure).toMatchObject({ kind: 'dependency_unavailable' });
    expect(await leaseOf(chunk.chunk_id)).toMatchObject({
      transcript_status: 'pending',
      transcript_attempts: 1,
      transcript_lease_expires_at: null,
    });
    expect((await leaseOf(chunk.chunk_id)).transcript_error).toContain('concurrent streams');
    const read = await getTranscriptFile({ sql, store }, 'core-s', chunk.chunk_id).catch((error: DomainError) => error);
    expect(read).toMatchObject({ kind: 'not_found' });
    expect((read as DomainError).detail).toMatch(
      /pending: its last attempt failed \(.*concurrent streams.*\), which a retry may cure; retry with POST \/process_chunk\//,
    );

    recognizerOf.state.failWith = undefined;
    const [outcome] = await transcribeInsertedAudio(recognizerOf.deps(), [chunk.audio_key], run());
    expect(outcome).toMatchObject({ outcome: 'done', chunk_id: chunk.chunk_id });
    expect(await leaseOf(chunk.chunk_id)).toMatchObject({ transcript_status: 'done', transcript_attempts: 2, transcript_error: null });
  });

  it('handles every key of an event before rethrowing, so one busy chunk does not hold back the others', async () => {
    const [busy, fine] = [await upload('cards/001.wav'), await upload('cards/002.wav')];
    let calls = 0;
    const stand: Transcriber = {
      ...transcriber,
      transcribe: async (audio) => {
        calls += 1;
        if (calls === 1) throw dependencyUnavailable('Speech recognizer busy', 'try again shortly');
        return recognizer.transcribe(audio);
      },
    };
    await expect(transcribeInsertedAudio({ ...deps(), transcriber: stand }, [busy.audio_key, fine.audio_key], run())).rejects.toMatchObject(
      { kind: 'dependency_unavailable' },
    );
    expect((await leaseOf(busy.chunk_id)).transcript_status).toBe('pending');
    expect((await leaseOf(fine.chunk_id)).transcript_status).toBe('done');
  });

  it('answers POST /process_chunk with the 503 and leaves the chunk pending, not failed', async () => {
    const chunk = await upload('cards/001.wav');
    await transcribeInsertedAudio(deps(), [chunk.audio_key], run());
    const recognizerOf = scripted();
    recognizerOf.state.failWith = dependencyUnavailable('Speech recognizer unavailable', 'try again shortly');
    await expect(transcribeChunk(recognizerOf.deps(), { chunkId: chunk.chunk_id, ...run(29) })).rejects.toMatchObject({
      kind: 'dependency_unavailable',
    });
    expect((await leaseOf(chunk.chunk_id)).transcript_status).toBe('pending');
  });
});

describe('leases (issue #15, defect 7)', () => {
  it('skips a delivery while another run holds a live lease, without recognizing the chunk again', async () => {
    const chunk = await upload('cards/002.wav');
    const holder = await claimTranscription({ sql }, chunk.chunk_id, 60_000);
    expect(holder.claimed).toBe(true);
    const recognizerOf = scripted();
    expect(await transcribeInsertedAudio(recognizerOf.deps(), [chunk.audio_key], run())).toEqual([
      { key: chunk.audio_key, outcome: 'skipped', reason: 'being transcribed by another run' },
    ]);
    expect(recognizerOf.state.calls).toBe(0);
    expect((await claimTranscription({ sql }, chunk.chunk_id, 60_000)).claimed).toBe(false);
    expect((await leaseOf(chunk.chunk_id)).transcript_status).toBe('processing');
  });

  it('reads an expired lease as pending, lets the next delivery take it over, and ignores the dead run’s late write', async () => {
    const chunk = await upload('cards/003.wav');
    const dead = await claimTranscription({ sql }, chunk.chunk_id, 60_000);
    if (!dead.claimed) throw new Error('expected a claim');
    // The run that claimed it timed out: its deadline, and so its lease, is in the past.
    await sql.query(
      "UPDATE audio_chunks SET transcript_lease_expires_at = now() - interval '1 second' WHERE chunk_id = CAST(:id AS bigint)",
      { id: chunk.chunk_id },
    );

    expect((await findAudioChunk({ sql }, chunk.chunk_id))!.transcript_status).toBe('pending');
    const read = (await getTranscriptFile({ sql, store }, 'core-s', chunk.chunk_id).catch((error: DomainError) => error)) as DomainError;
    expect(read.detail).toContain('stopped before it finished');
    expect(read.detail).not.toContain('is processing');

    const [outcome] = await transcribeInsertedAudio(deps(), [chunk.audio_key], run());
    expect(outcome).toMatchObject({ outcome: 'done' });
    await endTranscription({ sql }, chunk.chunk_id, dead.attempt, 'failed', 'the dead run, late');
    expect(await leaseOf(chunk.chunk_id)).toMatchObject({ transcript_status: 'done', transcript_attempts: 2, transcript_error: null });
  });

  it('claims a chunk whose holder ended its run between the refused claim and the look at its lease', async () => {
    const chunk = await upload('cards/005.wav');
    const holder = await claimTranscription({ sql }, chunk.chunk_id, 60_000);
    if (!holder.claimed) throw new Error('expected a claim');
    // The holder finishes right after this claim's update was refused, before it reads the lease.
    const racing: Sql = {
      ...sql,
      query: async (statement, params) => {
        if (statement.trimStart().startsWith('SELECT transcript_lease_expires_at'))
          await endTranscription({ sql }, chunk.chunk_id, holder.attempt, 'done');
        return sql.query(statement, params);
      },
    };
    // Before, this answered "no such chunk" (a 404 from POST /process_chunk) for a chunk that is there.
    expect(await claimTranscription({ sql: racing }, chunk.chunk_id, 60_000)).toEqual({ claimed: true, attempt: holder.attempt + 1 });
  });

  it('makes POST /process_chunk wait for a live lease to end, then transcribe once', async () => {
    const chunk = await upload('cards/004.wav');
    const holder = await claimTranscription({ sql }, chunk.chunk_id, 60_000);
    if (!holder.claimed) throw new Error('expected a claim');
    const recognizerOf = scripted();
    let claims = 0;
    const watched: Sql = {
      ...sql,
      query: (text, params) => ((claims += /SET transcript_status = 'processing'/.test(text) ? 1 : 0), sql.query(text, params)),
    };
    const onDemand = transcribeChunk({ ...recognizerOf.deps(), sql: watched }, { chunkId: chunk.chunk_id, ...run(29) });
    // It has tried to claim twice (found the lease, waited, looked again) and not started a second run.
    await expect.poll(() => claims, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    expect(recognizerOf.state.calls).toBe(0);
    await endTranscription({ sql }, chunk.chunk_id, holder.attempt, 'pending', null);
    expect(await onDemand).toMatchObject({ transcript: 'five five' });
    expect(recognizerOf.state.calls).toBe(1);
  });

  it('answers 409 when a live lease outlasts what the on-demand deadline could wait for', async () => {
    const chunk = await upload('cards/001.wav');
    await claimTranscription({ sql }, chunk.chunk_id, 60_000);
    const deadline = Date.now() + (chunk.duration + TRANSCRIPTION_MARGIN_SECONDS) * 1000 + 200;
    await expect(transcribeChunk(deps(), { chunkId: chunk.chunk_id, deadline })).rejects.toMatchObject({
      kind: 'conflict',
      message: 'Transcription in progress',
    });
  });
});

describe('audio longer than a run can stream (issue #15, defect 4)', () => {
  it('refuses POST /process_chunk for audio over maxOnDemandSeconds with a 413, leaving the row as it was', async () => {
    const chunk = await upload('cards/002.wav');
    const recognizerOf = scripted();
    const limited = { ...recognizerOf.deps(), audio: { ...deps().audio, maxOnDemandSeconds: 1 } };
    const refusal = (await transcribeChunk(limited, { chunkId: chunk.chunk_id, ...run(29) }).catch(
      (error: unknown) => error,
    )) as DomainError;
    expect(refusal).toMatchObject({ kind: 'too_large', message: 'Audio too long to transcribe on demand' });
    expect(refusal.detail).toContain('at most 1 s');
    expect(refusal.detail).toContain(`GET /transcript/core-s/${chunk.chunk_id}`);
    expect(recognizerOf.state.calls).toBe(0);
    expect((await leaseOf(chunk.chunk_id)).transcript_status).toBe('pending');
  });

  it('marks an inserted chunk failed, without recognizing it, when its audio cannot be streamed before the deadline', async () => {
    const chunk = await upload('cards/003.wav');
    const recognizerOf = scripted();
    const [outcome] = await transcribeInsertedAudio(recognizerOf.deps(), [chunk.audio_key], run(TRANSCRIPTION_MARGIN_SECONDS));
    expect(outcome).toMatchObject({ outcome: 'failed', chunk_id: chunk.chunk_id });
    expect(recognizerOf.state.calls).toBe(0);
    const row = await leaseOf(chunk.chunk_id);
    expect(row).toMatchObject({ transcript_status: 'failed', transcript_lease_expires_at: null });
    expect(row.transcript_error).toContain('Audio too long');
  });

  it('refuses an upload longer than maxSeconds with a 413 and records nothing', async () => {
    const before = await sql.query('SELECT chunk_id FROM audio_chunks');
    const refusal = await ingestAudioChunk(
      { ...deps(), audio: { ...deps().audio, maxSeconds: 1 } },
      { sessionId: 'core-s', contentType: 'audio/wav', bytes: realWav('cards/001.wav') },
    ).catch((error: unknown) => error);
    expect(refusal).toMatchObject({ kind: 'too_large', message: 'Audio chunk too long' });
    expect(await sql.query('SELECT chunk_id FROM audio_chunks')).toHaveLength(before.length);
  });
});
