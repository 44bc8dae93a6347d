/**
 * The direct-upload life cycle in core, on real parts (PGlite, the directory store): the reservation,
 * the arrival that probes the object with ranged reads and makes the chunk, audio refused on arrival,
 * a sequence taken meanwhile, and the sweep of reservations whose audio never came; uploads told apart
 * by their SHA-256 across both paths; an object nobody awaits; and (on PostgreSQL) duplicate deliveries.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations } from '../../db/migrations';
import { DirectoryObjectStore } from '../../functions/adapters/object-store/directory';
import { openPgliteSql } from '../../functions/adapters/sql/pglite';
import { PROBE_WINDOW_BYTES } from '../../functions/core/audio/probe-object';
import { findAudioChunk, receiveAudioChunk } from '../../functions/core/audio-chunks';
import {
  completeAudioUpload,
  createAudioUpload,
  expireAudioUploads,
  UPLOAD_GRACE_SECONDS,
  UPLOAD_URL_SECONDS,
  type UploadOutcome,
  type UploadRequest,
} from '../../functions/core/audio-uploads';
import { NO_TRACK } from '../../functions/core/chunk-track';
import type { AudioSettings } from '../../functions/core/dependencies';
import { migrate } from '../../functions/core/migrations';
import type { Sql } from '../../functions/core/ports/sql';
import { createSession } from '../../functions/core/sessions';
import { transcribeInsertedAudio } from '../../functions/core/transcripts/on-insert';
import { oggOpusHeader, toneWav } from '../support/audio-fixtures';
import { type CountingObjectStore, countingObjectStore } from '../support/counting-object-store';
import { silentLogger } from '../support/silent-logger';

let root: string;
let sql: Sql;
let store: CountingObjectStore;
const audio: AudioSettings = { acceptedFormats: ['wav', 'flac', 'ogg'], maxBytes: 4 * 1024 * 1024 };
const deps = () => ({ sql, store, audio, logger: silentLogger });
const SESSION = 'uploads-core';
const sha256Of = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

const keyOf = (chunkId: string, extension = 'wav') => `audio/${SESSION}/${chunkId}.${extension}`;
const reservations = async () =>
  (await sql.query<{ chunk_id: string }>('SELECT chunk_id::text AS chunk_id FROM audio_uploads ORDER BY chunk_id')).map(
    (row) => row.chunk_id,
  );

/** A request that must be answered with a URL. */
const issue = async (request: UploadRequest) => {
  const outcome = await createAudioUpload(deps(), request);
  if (outcome.outcome !== 'issued') throw new Error(`expected a URL, got ${outcome.outcome}`);
  return outcome as Extract<UploadOutcome, { outcome: 'issued' }>;
};

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
    const ticket = await issue({
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
    const ticket = await issue({
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
    const ticket = await issue({
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

  it('frees the sequence of an upload refused on arrival, so the corrected audio can take it', async () => {
    const broken = toneWav({ sampleRate: 48000, channels: 2, seconds: 12 }).subarray(0, 2 * PROBE_WINDOW_BYTES + 1000);
    const track = { ...NO_TRACK, sequence: 21 };
    const first = await issue({ sessionId: SESSION, contentType: 'audio/wav', sizeBytes: broken.length, track });
    await store.put(keyOf(first.chunk_id), broken, { contentType: 'audio/wav' });
    const refused = await completeAudioUpload(deps(), keyOf(first.chunk_id));
    expect(refused).toMatchObject({
      transcript_status: 'failed',
      sequence: null,
      transcript_error: expect.stringContaining('sequence 21'),
    });

    const fixed = toneWav({ seconds: 1 });
    const retry = await issue({ sessionId: SESSION, contentType: 'audio/wav', sizeBytes: fixed.length, track });
    expect(retry.chunk_id).not.toBe(first.chunk_id);
    await store.put(keyOf(retry.chunk_id), fixed, { contentType: 'audio/wav' });
    expect(await completeAudioUpload(deps(), keyOf(retry.chunk_id))).toMatchObject({ transcript_status: 'pending', sequence: 21 });
  });

  it('fails the upload whose sequence a raw-body chunk took meanwhile, and leaves that chunk be', async () => {
    const bytes = toneWav({ seconds: 1 });
    const ticket = await issue({
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

describe('bytes told apart by their SHA-256', () => {
  const chunkSha = async (chunkId: string) =>
    (
      await sql.query<{ audio_sha256: string | null }>('SELECT audio_sha256 FROM audio_chunks WHERE chunk_id = CAST(:id AS bigint)', {
        id: chunkId,
      })
    )[0]?.audio_sha256;

  it('signs a given digest into the URL and keeps it on the chunk without reading the object again', async () => {
    const bytes = toneWav({ seconds: 2 });
    const ticket = await issue({
      sessionId: SESSION,
      contentType: 'audio/wav',
      sizeBytes: bytes.length,
      sha256: sha256Of(bytes).toUpperCase(),
      track: NO_TRACK,
    });
    expect(ticket.headers['x-amz-checksum-sha256']).toBe(createHash('sha256').update(bytes).digest('base64'));
    await store.put(keyOf(ticket.chunk_id), bytes, { contentType: 'audio/wav' });
    store.reset();
    await completeAudioUpload(deps(), keyOf(ticket.chunk_id));
    expect(await chunkSha(ticket.chunk_id)).toBe(sha256Of(bytes));
    expect(store.counts).toMatchObject({ get: 0, getStream: 0 });
  });

  it('hashes an upload made without a digest by streaming its object once', async () => {
    const bytes = toneWav({ seconds: 3 });
    const ticket = await issue({ sessionId: SESSION, contentType: 'audio/wav', sizeBytes: bytes.length, track: NO_TRACK });
    expect(ticket.headers).not.toHaveProperty('x-amz-checksum-sha256');
    await store.put(keyOf(ticket.chunk_id), bytes, { contentType: 'audio/wav' });
    store.reset();
    await completeAudioUpload(deps(), keyOf(ticket.chunk_id));
    expect(await chunkSha(ticket.chunk_id)).toBe(sha256Of(bytes));
    expect(store.counts).toMatchObject({ get: 0, getStream: 1 });
  });

  it('replays an arrived sequence for the same digest, and refuses another digest or none', async () => {
    const bytes = toneWav({ seconds: 1.5 });
    const request = { sessionId: SESSION, contentType: 'audio/wav', sizeBytes: bytes.length, track: { ...NO_TRACK, sequence: 30 } };
    const ticket = await issue(request);
    await store.put(keyOf(ticket.chunk_id), bytes, { contentType: 'audio/wav' });
    await completeAudioUpload(deps(), keyOf(ticket.chunk_id));

    const replayed = await createAudioUpload(deps(), { ...request, sha256: sha256Of(bytes) });
    expect(replayed).toMatchObject({ outcome: 'replayed', chunk: { chunk_id: ticket.chunk_id, sequence: 30 } });
    expect(replayed).not.toHaveProperty('upload_url');
    await expect(createAudioUpload(deps(), { ...request, sha256: sha256Of(Buffer.from('other')) })).rejects.toMatchObject({
      kind: 'conflict',
      detail: expect.stringContaining('different audio'),
    });
    await expect(createAudioUpload(deps(), request)).rejects.toMatchObject({
      kind: 'conflict',
      detail: expect.stringContaining('give sha256'),
    });
  });

  it('gives an awaited sequence the same chunk for the same digest, and refuses another digest or none', async () => {
    const bytes = toneWav({ seconds: 1.25 });
    const request = {
      sessionId: SESSION,
      contentType: 'audio/wav',
      sizeBytes: bytes.length,
      sha256: sha256Of(bytes),
      track: { ...NO_TRACK, sequence: 31 },
    };
    const first = await issue(request);
    const again = await issue(request);
    expect(again.chunk_id).toBe(first.chunk_id);
    for (const sha256 of [sha256Of(Buffer.from('other')), null]) {
      await expect(createAudioUpload(deps(), { ...request, sha256 })).rejects.toMatchObject({ kind: 'conflict' });
    }
  });

  it('compares a raw-body chunk and a direct upload of the same sequence by the same digest, both ways', async () => {
    const raw = toneWav({ seconds: 1.75 });
    const stored = await receiveAudioChunk(deps(), {
      sessionId: SESSION,
      contentType: 'audio/wav',
      bytes: raw,
      track: { ...NO_TRACK, sequence: 32 },
    });
    expect(stored.outcome).toBe('created');
    const request = { sessionId: SESSION, contentType: 'audio/wav', sizeBytes: raw.length, track: { ...NO_TRACK, sequence: 32 } };
    const replayed = await createAudioUpload(deps(), { ...request, sha256: sha256Of(raw) });
    expect(replayed.outcome === 'replayed' && replayed.chunk.chunk_id).toBe(stored.outcome === 'created' && stored.chunk.chunk_id);

    const direct = toneWav({ seconds: 2.25 });
    const ticket = await issue({ ...request, sizeBytes: direct.length, track: { ...NO_TRACK, sequence: 33 } });
    await store.put(keyOf(ticket.chunk_id), direct, { contentType: 'audio/wav' });
    await completeAudioUpload(deps(), keyOf(ticket.chunk_id));
    const retried = await receiveAudioChunk(deps(), {
      sessionId: SESSION,
      contentType: 'audio/wav',
      bytes: direct,
      track: { ...NO_TRACK, sequence: 33 },
    });
    expect(retried).toMatchObject({ outcome: 'replayed', chunk: { chunk_id: ticket.chunk_id } });
    await expect(
      receiveAudioChunk(deps(), { sessionId: SESSION, contentType: 'audio/wav', bytes: raw, track: { ...NO_TRACK, sequence: 33 } }),
    ).rejects.toMatchObject({ kind: 'conflict' });
  });

  it('makes no second chunk when a raw-body retry stored the same bytes under the sequence first', async () => {
    const bytes = toneWav({ seconds: 2.5 });
    const ticket = await issue({
      sessionId: SESSION,
      contentType: 'audio/wav',
      sizeBytes: bytes.length,
      track: { ...NO_TRACK, sequence: 34 },
    });
    const raw = await receiveAudioChunk(deps(), {
      sessionId: SESSION,
      contentType: 'audio/wav',
      bytes,
      track: { ...NO_TRACK, sequence: 34 },
    });
    await store.put(keyOf(ticket.chunk_id), bytes, { contentType: 'audio/wav' });
    expect(await completeAudioUpload(deps(), keyOf(ticket.chunk_id))).toBeNull();
    expect(await findAudioChunk({ sql }, ticket.chunk_id)).toBeNull();
    expect(await reservations()).not.toContain(ticket.chunk_id);
    expect(await store.head(keyOf(ticket.chunk_id))).toBeNull();
    expect(raw.outcome === 'created' && (await findAudioChunk({ sql }, raw.chunk.chunk_id))).toMatchObject({ sequence: 34 });
  });
});

describe('an object nobody awaits', () => {
  it('is removed when it arrives after its reservation was swept', async () => {
    const bytes = toneWav({ seconds: 1 });
    const ticket = await issue({ sessionId: SESSION, contentType: 'audio/wav', sizeBytes: bytes.length, track: NO_TRACK });
    const expiry = Date.parse(ticket.expires_at);
    expect((await expireAudioUploads(deps(), new Date(expiry + (UPLOAD_GRACE_SECONDS + 60) * 1000))).expired).toContain(ticket.chunk_id);
    // A PUT started just before its URL expired, landing after the grace.
    await store.put(keyOf(ticket.chunk_id), bytes, { contentType: 'audio/wav' });
    const outcomes = await transcribeInsertedAudio({ ...deps(), transcriber: unusedTranscriber }, [keyOf(ticket.chunk_id)], {
      deadline: Date.now() + 60_000,
    });
    expect(outcomes).toEqual([expect.objectContaining({ outcome: 'skipped' })]);
    expect(await store.head(keyOf(ticket.chunk_id))).toBeNull();
    expect(await findAudioChunk({ sql }, ticket.chunk_id)).toBeNull();
  });

  it('is kept when its chunk row holds it', async () => {
    const bytes = toneWav({ seconds: 1 });
    const ticket = await issue({ sessionId: SESSION, contentType: 'audio/wav', sizeBytes: bytes.length, track: NO_TRACK });
    await store.put(keyOf(ticket.chunk_id), bytes, { contentType: 'audio/wav' });
    expect(await completeAudioUpload(deps(), keyOf(ticket.chunk_id))).not.toBeNull();
    // A repeated event after the chunk was made: no reservation, but the chunk owns the object.
    expect(await completeAudioUpload(deps(), keyOf(ticket.chunk_id))).toBeNull();
    expect(await store.head(keyOf(ticket.chunk_id))).not.toBeNull();
  });
});

describe('the sweep', () => {
  it('drops a reservation only past expiry and grace, and not one whose audio is there', async () => {
    const bytes = toneWav({ seconds: 1 });
    const never = await issue({
      sessionId: SESSION,
      contentType: 'audio/wav',
      sizeBytes: bytes.length,
      track: NO_TRACK,
    });
    const landed = await issue({
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
