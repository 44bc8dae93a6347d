/**
 * The direct-upload life cycle in core, on real parts (PGlite, the directory store): the reservation,
 * the arrival that probes the object with ranged reads and makes the chunk, audio refused on arrival,
 * a sequence taken meanwhile, and the sweep of reservations whose audio never came.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations } from '../../db/migrations';
import { DirectoryObjectStore } from '../../functions/adapters/object-store/directory';
import { openPgliteSql } from '../../functions/adapters/sql/pglite';
import { PROBE_WINDOW_BYTES } from '../../functions/core/audio/probe-object';
import { findAudioChunk } from '../../functions/core/audio-chunks';
import {
  completeAudioUpload,
  createAudioUpload,
  expireAudioUploads,
  UPLOAD_GRACE_SECONDS,
  UPLOAD_URL_SECONDS,
} from '../../functions/core/audio-uploads';
import { NO_TRACK } from '../../functions/core/chunk-track';
import type { AudioSettings } from '../../functions/core/dependencies';
import { migrate } from '../../functions/core/migrations';
import type { Logger } from '../../functions/core/ports/logger';
import type { Sql } from '../../functions/core/ports/sql';
import { createSession } from '../../functions/core/sessions';
import { transcribeInsertedAudio } from '../../functions/core/transcripts/on-insert';
import { oggOpusHeader, toneWav } from '../support/audio-fixtures';
import { type CountingObjectStore, countingObjectStore } from '../support/counting-object-store';

let root: string;
let sql: Sql;
let store: CountingObjectStore;
const quiet = { debug() {}, info() {}, warn() {}, error() {} } as unknown as Logger;
const audio: AudioSettings = { acceptedFormats: ['wav', 'flac', 'ogg'], maxBytes: 4 * 1024 * 1024 };
const deps = () => ({ sql, store, audio, logger: quiet });
const SESSION = 'uploads-core';

const keyOf = (chunkId: string, extension = 'wav') => `audio/${SESSION}/${chunkId}.${extension}`;
const reservations = async () =>
  (await sql.query<{ chunk_id: string }>('SELECT chunk_id::text AS chunk_id FROM audio_uploads ORDER BY chunk_id')).map(
    (row) => row.chunk_id,
  );

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'interview-ops-uploads-'));
  sql = await openPgliteSql();
  await migrate(sql, loadMigrations());
  store = countingObjectStore(await new DirectoryObjectStore(root, { uploadBaseUrl: () => 'http://127.0.0.1:1' }).open());
  await createSession({ sql }, { session_id: SESSION });
});

afterAll(async () => {
  await sql?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('arrival', () => {
  it('probes a big WAV from its header alone and makes the pending chunk with its track', async () => {
    const bytes = toneWav({ sampleRate: 48000, channels: 2, seconds: 12 });
    const ticket = await createAudioUpload(deps(), {
      sessionId: SESSION,
      contentType: 'audio/x-wav',
      sizeBytes: bytes.length,
      track: { sequence: 3, speaker: 'interviewer', startedAt: 1500 },
    });
    expect(await findAudioChunk({ sql }, ticket.chunk_id)).toBeNull();
    await store.put(keyOf(ticket.chunk_id), bytes, { contentType: 'audio/wav' });
    store.reset();
    const chunk = await completeAudioUpload(deps(), keyOf(ticket.chunk_id));
    expect(chunk).toMatchObject({
      chunk_id: ticket.chunk_id,
      content_type: 'audio/wav',
      size_bytes: bytes.length,
      sample_rate: 48000,
      channels: 2,
      duration: 12,
      transcript_status: 'pending',
    });
    expect(store.counts).toMatchObject({ get: 0, getRange: 1 });
    const [track] = await sql.query('SELECT sequence, speaker, started_at FROM audio_chunks WHERE chunk_id = CAST(:id AS bigint)', {
      id: ticket.chunk_id,
    });
    expect(track).toMatchObject({ sequence: 3, speaker: 'interviewer' });
    expect(track!.started_at).toEqual(expect.any(String));
    expect(await reservations()).not.toContain(ticket.chunk_id);
    // A repeated event finds the chunk, not a reservation.
    expect(await completeAudioUpload(deps(), keyOf(ticket.chunk_id))).toBeNull();
  });

  it('probes a big Ogg Opus from its two ends', async () => {
    const header = oggOpusHeader(1, 1800);
    const firstPage = header.subarray(0, 47);
    const bytes = Buffer.concat([firstPage, Buffer.alloc(3 * PROBE_WINDOW_BYTES), header.subarray(47)]);
    const ticket = await createAudioUpload(deps(), {
      sessionId: SESSION,
      contentType: 'audio/ogg',
      sizeBytes: bytes.length,
      track: NO_TRACK,
    });
    await store.put(keyOf(ticket.chunk_id, 'ogg'), bytes, { contentType: 'audio/ogg' });
    store.reset();
    const chunk = await completeAudioUpload(deps(), keyOf(ticket.chunk_id, 'ogg'));
    expect(chunk).toMatchObject({ duration: 1800, channels: 1, transcript_status: 'pending' });
    expect(store.counts).toMatchObject({ get: 0, getRange: 2 });
  });

  it('refuses a WAV whose data chunk runs past the object, keeping the reason and nothing of the audio', async () => {
    const bytes = toneWav({ sampleRate: 48000, channels: 2, seconds: 12 }).subarray(0, 2 * PROBE_WINDOW_BYTES + 1000);
    const ticket = await createAudioUpload(deps(), {
      sessionId: SESSION,
      contentType: 'audio/wav',
      sizeBytes: bytes.length,
      track: NO_TRACK,
    });
    await store.put(keyOf(ticket.chunk_id), bytes, { contentType: 'audio/wav' });
    const outcomes = await transcribeInsertedAudio({ ...deps(), transcriber: unusedTranscriber }, [keyOf(ticket.chunk_id)], {
      deadline: Date.now() + 60_000,
    });
    expect(outcomes).toEqual([expect.objectContaining({ outcome: 'failed', error: expect.stringContaining('truncated') })]);
    const chunk = await findAudioChunk({ sql }, ticket.chunk_id);
    expect(chunk).toMatchObject({ transcript_status: 'failed', transcript_error: expect.stringContaining('truncated') });
    expect(await store.head(keyOf(ticket.chunk_id))).toBeNull();
    // S3 may deliver the event twice: the reason stays.
    await transcribeInsertedAudio({ ...deps(), transcriber: unusedTranscriber }, [keyOf(ticket.chunk_id)], {
      deadline: Date.now() + 60_000,
    });
    expect((await findAudioChunk({ sql }, ticket.chunk_id))!.transcript_error).toContain('truncated');
  });

  it('fails the upload whose sequence a raw-body chunk took meanwhile, and leaves that chunk be', async () => {
    const bytes = toneWav({ seconds: 1 });
    const ticket = await createAudioUpload(deps(), {
      sessionId: SESSION,
      contentType: 'audio/wav',
      sizeBytes: bytes.length,
      track: { ...NO_TRACK, sequence: 9 },
    });
    // What a raw-body upload of sequence 9 would have left.
    await sql.query(
      `INSERT INTO audio_chunks (session_id, content_type, audio_key, size_bytes, sample_rate, channels, duration, sequence)
       VALUES (:session_id, 'audio/wav', 'audio/x/raw.wav', 10, 16000, 1, 1, 9)`,
      { session_id: SESSION },
    );
    await store.put(keyOf(ticket.chunk_id), bytes, { contentType: 'audio/wav' });
    const chunk = await completeAudioUpload(deps(), keyOf(ticket.chunk_id));
    expect(chunk).toMatchObject({ transcript_status: 'failed', transcript_error: expect.stringContaining('Sequence 9') });
  });
});

describe('the sweep', () => {
  it('drops a reservation only past expiry and grace, and not one whose audio is there', async () => {
    const bytes = toneWav({ seconds: 1 });
    const never = await createAudioUpload(deps(), {
      sessionId: SESSION,
      contentType: 'audio/wav',
      sizeBytes: bytes.length,
      track: NO_TRACK,
    });
    const landed = await createAudioUpload(deps(), {
      sessionId: SESSION,
      contentType: 'audio/wav',
      sizeBytes: bytes.length,
      track: NO_TRACK,
    });
    await store.put(keyOf(landed.chunk_id), bytes, { contentType: 'audio/wav' });
    const expiry = Date.parse(never.expires_at);
    expect(expiry - Date.now()).toBeLessThanOrEqual(UPLOAD_URL_SECONDS * 1000);

    const early = await expireAudioUploads(deps(), new Date(expiry + (UPLOAD_GRACE_SECONDS - 60) * 1000));
    expect(early.expired).not.toContain(never.chunk_id);
    expect(await reservations()).toContain(never.chunk_id);

    const late = await expireAudioUploads(deps(), new Date(expiry + (UPLOAD_GRACE_SECONDS + 60) * 1000));
    expect(late.expired).toContain(never.chunk_id);
    expect(late.awaitingArrival).toContain(landed.chunk_id);
    expect(await reservations()).not.toContain(never.chunk_id);
    expect(await reservations()).toContain(landed.chunk_id);
    // Nothing of it is left: no reservation, no chunk, no object.
    expect(await findAudioChunk({ sql }, never.chunk_id)).toBeNull();
    expect(await store.head(keyOf(never.chunk_id))).toBeNull();
  });
});

const unusedTranscriber = {
  engine: 'unused',
  acceptedFormats: ['wav'] as const,
  transcribe: () => Promise.reject(new Error('not called')),
  close: async () => {},
};
