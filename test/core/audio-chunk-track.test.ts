/**
 * The chunk's track and safe retries in core, on PGlite and the directory store: sequence, speaker and
 * started_at stored on the row; a retry of the same sequence with the same bytes is the same chunk
 * (also when the copies race), other bytes a 409; a timeslice blob is stored whole behind its track's
 * header, and one without a header stored before it is a 400 that leaves nothing behind. Firefox's Ogg
 * Opus blobs, cut at page boundaries, get transcripts of their own that match the WAV path's words.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations } from '../../db/migrations';
import { DirectoryObjectStore } from '../../functions/adapters/object-store/directory';
import { openPgliteSql } from '../../functions/adapters/sql/pglite';
import { PocketsphinxTranscriber } from '../../functions/adapters/transcriber/pocketsphinx';
import { probeAudio } from '../../functions/core/audio/probe';
import { readWebm, walkElements } from '../../functions/core/audio/webm';
import { type AudioUpload, receiveAudioChunk } from '../../functions/core/audio-chunks';
import { trackHeaderKeyFor } from '../../functions/core/keys';
import { migrate } from '../../functions/core/migrations';
import type { Sql } from '../../functions/core/ports/sql';
import { createSession } from '../../functions/core/sessions';
import { type SessionTranscript, sessionTranscript } from '../../functions/core/transcripts/session-transcript';
import { transcribeChunk } from '../../functions/core/transcripts/transcribe-chunk';
import { encodedSpeech, firefoxBlobs, POCKETSPHINX_TEST_DATA, realWav, toneWav } from '../support/audio-fixtures';
import { asyncRefusal as rejection } from '../support/refusal';
import { silentLogger } from '../support/silent-logger';
import { wordRecall, words } from '../support/word-recall';

let root: string;
let sql: Sql;
let store: DirectoryObjectStore;
let sessionCreatedAt: string;

const ALL = ['wav', 'flac', 'ogg', 'webm', 'mp4'] as const;
const deps = () => ({ sql, store, audio: { acceptedFormats: ALL, maxBytes: 4 * 1024 * 1024 } });
const receive = (upload: Partial<AudioUpload> & { bytes: Uint8Array }) =>
  receiveAudioChunk(deps(), { sessionId: 'track-s', contentType: 'audio/wav', ...upload });

const rowsOf = (sessionId: string) =>
  sql.query<{ chunk_id: string; sequence: number | null }>(
    'SELECT chunk_id::text AS chunk_id, sequence FROM audio_chunks WHERE session_id = :s ORDER BY chunk_id',
    { s: sessionId },
  );

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'interview-ops-chunk-track-'));
  sql = await openPgliteSql();
  await migrate(sql, loadMigrations());
  store = await new DirectoryObjectStore(root).open();
  sessionCreatedAt = (await createSession({ sql }, { session_id: 'track-s' })).created_at;
  await createSession({ sql }, { session_id: 'blobs-s' });
});

afterAll(async () => {
  await sql?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('the chunk track', () => {
  it('stores sequence, speaker and an ISO started_at, and returns them', async () => {
    const result = await receive({
      bytes: realWav('cards/001.wav'),
      track: { sequence: 0, speaker: 'candidate', startedAt: '2026-01-02T03:04:05.678+01:00' },
    });
    expect(result.outcome).toBe('created');
    if (result.outcome === 'track-header') throw new Error('unexpected');
    expect(result.chunk).toMatchObject({ sequence: 0, speaker: 'candidate', started_at: '2026-01-02T02:04:05.678Z' });
  });

  it('counts a started_at in milliseconds from the session start', async () => {
    const result = await receive({ bytes: realWav('cards/002.wav'), track: { sequence: 1, speaker: 'interviewer', startedAt: 90_500 } });
    if (result.outcome === 'track-header') throw new Error('unexpected');
    expect(result.chunk.started_at).toBe(new Date(Date.parse(sessionCreatedAt) + 90_500).toISOString());
  });

  it('leaves the track null when the upload names none', async () => {
    const result = await receive({ bytes: realWav('cards/003.wav') });
    if (result.outcome === 'track-header') throw new Error('unexpected');
    expect(result.chunk).toMatchObject({ sequence: null, speaker: null, started_at: null });
  });
});

describe('retries', () => {
  it('answers a retry with the same bytes with the existing chunk, never a second one', async () => {
    const bytes = realWav('cards/004.wav');
    const first = await receive({ bytes, track: { sequence: 10, speaker: null, startedAt: null } });
    const again = await receive({ bytes, track: { sequence: 10, speaker: null, startedAt: null } });
    expect(first.outcome).toBe('created');
    expect(again.outcome).toBe('replayed');
    if (first.outcome === 'track-header' || again.outcome === 'track-header') throw new Error('unexpected');
    expect(again.chunk.chunk_id).toBe(first.chunk.chunk_id);
    expect((await rowsOf('track-s')).filter((row) => row.sequence === 10)).toHaveLength(1);
  });

  it('refuses other bytes under a stored sequence with a 409, storing nothing', async () => {
    const before = await rowsOf('track-s');
    const error = await rejection(receive({ bytes: toneWav({ seconds: 0.3 }), track: { sequence: 10, speaker: null, startedAt: null } }));
    expect(error.kind).toBe('conflict');
    expect(error.detail).toMatch(/sequence 10 .*different audio/);
    expect(await rowsOf('track-s')).toEqual(before);
  });

  it('keeps one chunk when copies of the same upload race', async () => {
    const bytes = realWav('cards/005.wav');
    const results = await Promise.all(
      Array.from({ length: 6 }, () => receive({ bytes, track: { sequence: 20, speaker: null, startedAt: null } })),
    );
    expect(results.map((result) => result.outcome).sort()).toEqual(['created', ...Array(5).fill('replayed')]);
    const ids = new Set(results.map((result) => (result.outcome === 'track-header' ? null : result.chunk.chunk_id)));
    expect(ids.size).toBe(1);
    const rows = (await rowsOf('track-s')).filter((row) => row.sequence === 20);
    expect(rows).toHaveLength(1);
    // Only the winner's audio was written.
    expect(readdirSync(join(root, 'audio', 'track-s')).filter((name) => name.startsWith(`${rows[0]!.chunk_id}.`))).toHaveLength(1);
  });

  it('refuses a racing copy with other bytes with a 409', async () => {
    const outcomes = await Promise.allSettled([
      receive({ bytes: realWav('cards/001.wav'), track: { sequence: 30, speaker: null, startedAt: null } }),
      receive({ bytes: realWav('cards/002.wav'), track: { sequence: 30, speaker: null, startedAt: null } }),
    ]);
    expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = outcomes.find((outcome) => outcome.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason.kind).toBe('conflict');
    expect((await rowsOf('track-s')).filter((row) => row.sequence === 30)).toHaveLength(1);
  });
});

/** Cuts a WebM as Chromium's MediaRecorder does with a timeslice: one byte into a SimpleBlock. */
const chromiumBlobs = (webm: Uint8Array, parts: number): Uint8Array[] => {
  const blocks = walkElements(webm).filter((element) => element.id === 0xa3);
  const cuts = Array.from({ length: parts - 1 }, (_, i) => blocks[Math.floor(((i + 1) * blocks.length) / parts)]!.start + 1);
  return [0, ...cuts].map((from, i) => webm.subarray(from, cuts[i] ?? webm.length));
};

describe('timeslice blobs', () => {
  const source = `${POCKETSPHINX_TEST_DATA}/librivox/sense_and_sensibility_01_austen_64kb-0870.wav`;
  const blobs = chromiumBlobs(encodedSpeech('webm', source), 3);
  const upload = (blob: Uint8Array, sequence: number, speaker: string | null) =>
    receiveAudioChunk(deps(), {
      sessionId: 'blobs-s',
      contentType: 'audio/webm;codecs=opus',
      bytes: blob,
      track: { sequence, speaker, startedAt: null },
    });

  it('refuses a continuation whose track has no header yet with a 400 that says so, storing nothing', async () => {
    const error = await rejection(upload(blobs[1]!, 1, 'candidate'));
    expect(error.kind).toBe('invalid_input');
    expect(error.detail).toMatch(/continues a recording.*speaker "candidate".*first blob/);
    expect(await rowsOf('blobs-s')).toEqual([]);
  });

  it('stores every blob of a track as a whole file behind the first blob header', async () => {
    const results = [];
    for (const [sequence, blob] of blobs.entries()) results.push(await upload(blob, sequence, 'candidate'));
    expect(results.map((result) => result.outcome)).toEqual(['created', 'created', 'created']);
    for (const result of results) {
      if (result.outcome === 'track-header') throw new Error('unexpected');
      const stored = await store.get(result.chunk.audio_key);
      const probe = probeAudio(stored!.body, 'audio/webm', ALL);
      expect(probe.duration).toBeCloseTo(result.chunk.duration, 6);
      expect(readWebm(stored!.body).packets.length).toBeGreaterThan(10);
    }
  });

  it('answers a retried blob 200 by its bytes alone, even when its track header is gone', async () => {
    await store.delete([trackHeaderKeyFor('blobs-s', 'candidate', 'webm')]);
    expect((await upload(blobs[1]!, 1, 'candidate')).outcome).toBe('replayed');
    // A new blob of that track, by contrast, cannot be decoded now.
    expect((await rejection(upload(blobs[2]!, 9, 'candidate'))).kind).toBe('invalid_input');
  });

  it('keeps each speaker track its own header', async () => {
    // The interviewer has sent no first blob: the candidate's header is not theirs.
    expect((await rejection(upload(blobs[2]!, 7, 'interviewer'))).kind).toBe('invalid_input');
  });
});

describe("Firefox's Ogg Opus timeslice blobs", () => {
  const clip = 'sense_and_sensibility_01_austen_64kb-0870';
  const source = `${POCKETSPHINX_TEST_DATA}/librivox/${clip}.wav`;
  /** The words spoken, from the recording's own transcription. */
  const truth = readFileSync(`${POCKETSPHINX_TEST_DATA}/librivox/transcription`, 'utf8')
    .split('\n')
    .find((line) => line.includes(`(${clip})`))!
    .replace(/<\/?s>|\(.*\)/g, '');
  const blobs = firefoxBlobs(encodedSpeech('ogg', source), 3);
  const upload = (sessionId: string, blob: Uint8Array, sequence: number, speaker: string | null, contentType = 'audio/ogg;codecs=opus') =>
    receiveAudioChunk(deps(), { sessionId, contentType, bytes: blob, track: { sequence, speaker, startedAt: null } });

  it('refuses a continuation whose track has no header yet with a 400 that says so, storing nothing', async () => {
    await createSession({ sql }, { session_id: 'ogg-none-s' });
    const error = await rejection(upload('ogg-none-s', blobs[1]!, 1, 'candidate'));
    expect(error.kind).toBe('invalid_input');
    expect(error.detail).toMatch(/ogg blob continues a recording.*speaker "candidate".*first blob/);
    expect(await rowsOf('ogg-none-s')).toEqual([]);
  });

  it('stores each blob whole and transcribes every one with pocketsphinx about as well as the WAV', { timeout: 180_000 }, async () => {
    await createSession({ sql }, { session_id: 'ogg-s' });
    const recognizer = new PocketsphinxTranscriber({ logger: silentLogger });
    const transcriberDeps = { sql, store, transcriber: recognizer, logger: silentLogger };
    try {
      const texts: string[] = [];
      for (const [sequence, blob] of blobs.entries()) {
        const result = await upload('ogg-s', blob, sequence, 'candidate');
        if (result.outcome !== 'created') throw new Error(`blob ${sequence}: ${result.outcome}`);
        const stored = await store.get(result.chunk.audio_key);
        expect(probeAudio(stored!.body, 'audio/ogg', ALL).duration).toBeCloseTo(result.chunk.duration, 6);
        expect(result.chunk.duration).toBeGreaterThan(1.5);
        const transcript = await transcribeChunk(transcriberDeps, { chunkId: result.chunk.chunk_id, deadline: Date.now() + 60_000 });
        // Each blob holds seconds of continuous speech.
        expect(words(transcript.transcript).length, `blob ${sequence}: "${transcript.transcript}"`).toBeGreaterThan(2);
        texts.push(transcript.transcript);
      }
      const durations = (
        await sql.query<{ duration: number }>('SELECT duration FROM audio_chunks WHERE session_id = :s ORDER BY sequence', { s: 'ogg-s' })
      ).map((row) => Number(row.duration));
      expect(durations.reduce((sum, seconds) => sum + seconds, 0)).toBeCloseTo(
        probeAudio(encodedSpeech('ogg', source), 'audio/ogg', ALL).duration,
        3,
      );

      // The same speech as a WAV: the blobs' words must match the recording about as well (a word cut at a
      // page boundary is lost to both blobs).
      await createSession({ sql }, { session_id: 'ogg-wav-s' });
      const wav = await receiveAudioChunk(deps(), { sessionId: 'ogg-wav-s', contentType: 'audio/wav', bytes: readFileSync(source) });
      if (wav.outcome === 'track-header') throw new Error('unexpected');
      const wavText = (await transcribeChunk(transcriberDeps, { chunkId: wav.chunk.chunk_id, deadline: Date.now() + 60_000 })).transcript;
      const wavRecall = wordRecall(wavText, truth);
      console.info(`Ogg blobs: word recall ${wordRecall(texts.join(' '), truth).toFixed(2)} (WAV path ${wavRecall.toFixed(2)})`);
      expect(wavRecall).toBeGreaterThan(0.4);
      expect(wordRecall(texts.join(' '), truth)).toBeGreaterThan(wavRecall - 0.2);
    } finally {
      await recognizer.close();
    }
  });

  it('answers a first blob that is only the header pages 202, and decodes the next blob behind them', async () => {
    await createSession({ sql }, { session_id: 'ogg-head-s' });
    const ogg = encodedSpeech('ogg', source);
    const headerOnly = probeAudio(ogg, 'audio/ogg', ALL).trackHeader!;
    expect((await upload('ogg-head-s', headerOnly, 0, null)).outcome).toBe('track-header');
    const next = await upload('ogg-head-s', ogg.subarray(headerOnly.length), 1, null);
    if (next.outcome !== 'created') throw new Error('unexpected');
    expect(next.chunk.duration).toBeCloseTo(probeAudio(ogg, 'audio/ogg', ALL).duration, 6);
  });
});

describe('the session timeline', () => {
  it('places each chunk at its started_at and orders the segments of two speakers in time', { timeout: 120_000 }, async () => {
    await createSession({ sql }, { session_id: 'timeline-s' });
    const recognizer = new PocketsphinxTranscriber({ logger: silentLogger });
    try {
      const transcribed = async (clip: string, speaker: string, startedAt: number) => {
        const result = await receiveAudioChunk(deps(), {
          sessionId: 'timeline-s',
          contentType: 'audio/wav',
          bytes: realWav(clip),
          track: { sequence: null, speaker, startedAt },
        });
        if (result.outcome === 'track-header') throw new Error('unexpected');
        const transcriberDeps = { sql, store, transcriber: recognizer, logger: silentLogger };
        await transcribeChunk(transcriberDeps, { chunkId: result.chunk.chunk_id, deadline: Date.now() + 60_000 });
        return result.chunk;
      };
      // Uploaded first, spoken later: the interviewer's question came at 1.5 s, the candidate's answer at 20 s.
      const answer = await transcribed('cards/004.wav', 'candidate', 20_000);
      const question = await transcribed('cards/001.wav', 'interviewer', 1_500);
      const doc = (await sessionTranscript({ sql, store }, { sessionId: 'timeline-s', format: 'json' })) as SessionTranscript;
      expect(doc.chunks.map((chunk) => [chunk.chunk_id, chunk.offset])).toEqual([
        [answer.chunk_id, 20],
        [question.chunk_id, 1.5],
      ]);
      expect(doc.segments.map((segment) => segment.speaker)).toEqual(['interviewer', 'candidate']);
      expect(doc.segments[0]!.start).toBeGreaterThanOrEqual(1.5);
      expect(doc.segments[1]!.start).toBeGreaterThanOrEqual(20);
      expect(doc.duration).toBeCloseTo(20 + answer.duration, 2);
    } finally {
      await recognizer.close();
    }
  });
});
