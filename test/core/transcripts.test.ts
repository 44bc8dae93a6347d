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
import { PocketsphinxTranscriber } from '../../functions/adapters/transcriber/pocketsphinx';
import { DirectoryObjectStore } from '../../functions/adapters/object-store/directory';
import { openPgliteSql } from '../../functions/adapters/sql/pglite';
import { ingestAudioChunk } from '../../functions/core/audio-chunks';
import { migrate } from '../../functions/core/migrations';
import type { LogAttributes, Logger } from '../../functions/core/ports/logger';
import type { Sql } from '../../functions/core/ports/sql';
import type { Transcriber } from '../../functions/core/ports/transcriber';
import { createSession } from '../../functions/core/sessions';
import { transcribeInsertedAudio } from '../../functions/core/transcripts/on-insert';
import { transcribeChunk } from '../../functions/core/transcripts/transcribe-chunk';
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
      const [row] = await sql.query<{ transcript_status: string }>("SELECT transcript_status FROM audio_chunks ORDER BY transcript_updated_at DESC NULLS LAST LIMIT 1");
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

    expect(await transcribeInsertedAudio(deps(), [audioKey])).toEqual([{ key: audioKey, outcome: 'done', chunk_id: chunkId, session_id: 'core-s' }]);
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
    expect(await transcribeInsertedAudio(deps(), [audioKey])).toEqual([{ key: audioKey, outcome: 'skipped', reason: 'already transcribed' }]);
    expect(seenDuringTranscription.length).toBe(calls);
  });

  it('skips keys that are not audio chunks, or whose chunk row does not match', async () => {
    const outcomes = await transcribeInsertedAudio(deps(), ['snapshots/snapshot_20240101_000000.json', 'audio/core-s/999999.wav', `audio/other/${chunkId}.wav`]);
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
    const [outcome] = await transcribeInsertedAudio(deps(), [audioKey]);
    expect(outcome).toMatchObject({ outcome: 'failed', chunk_id: chunkId, session_id: 'core-s' });
    const row = await statusOf(chunkId);
    expect(row.transcript_status).toBe('failed');
    expect(row.transcript_error).toContain('no longer stored');
    const entry = logged.find((line) => line.level === 'error' && line.attributes.chunk_id === chunkId);
    expect(entry?.attributes.session_id).toBe('core-s');
  });

  it('stays retriable: once the audio is back, the on-demand call transcribes it', async () => {
    await store.put(audioKey, audio, { contentType: 'audio/wav' });
    const transcript = await transcribeChunk(deps(), { chunkId, sessionId: 'core-s' });
    expect(transcript).toMatchObject({ chunk_id: chunkId, session_id: 'core-s', transcript: 'seven of clubs', language: 'en', success: true });
    expect(await statusOf(chunkId)).toMatchObject({ transcript_status: 'done', transcript_error: null });
  });

  it('refuses a session that is not the chunk with the same 404 as an unknown chunk', async () => {
    const wrong = await transcribeChunk(deps(), { chunkId, sessionId: 'someone-else' }).catch((error: Error) => error);
    const unknown = await transcribeChunk(deps(), { chunkId: '424242', sessionId: 'someone-else' }).catch((error: Error) => error);
    expect(wrong).toMatchObject({ kind: 'not_found', message: 'Audio chunk not found' });
    expect(unknown).toMatchObject({ kind: 'not_found', message: 'Audio chunk not found' });
    expect((await statusOf(chunkId)).transcript_status).toBe('done');
  });
});
