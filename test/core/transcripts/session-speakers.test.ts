/**
 * Speakers, start times, sequence numbers and gaps on the session timeline, from the chunk rows' own
 * columns (migration 008), in core on real parts: PGlite with the migrations, the directory store, the
 * warm pocketsphinx recognizer. The track (speaker, started_at, sequence) and the chunks that never got a
 * transcript are written straight through the Sql port, as the upload and a failed run leave them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations } from '../../../db/migrations';
import { DirectoryObjectStore } from '../../../functions/adapters/object-store/directory';
import { openPgliteSql } from '../../../functions/adapters/sql/pglite';
import { PocketsphinxTranscriber } from '../../../functions/adapters/transcriber/pocketsphinx';
import { ingestAudioChunk } from '../../../functions/core/audio-chunks';
import { migrate } from '../../../functions/core/migrations';
import type { Logger } from '../../../functions/core/ports/logger';
import type { Sql } from '../../../functions/core/ports/sql';
import { createSession } from '../../../functions/core/sessions';
import { searchTranscripts } from '../../../functions/core/transcripts/search';
import { type SessionTranscript, sessionTranscript } from '../../../functions/core/transcripts/session-transcript';
import { type GeneratedTranscript, transcribeChunk } from '../../../functions/core/transcripts/transcribe-chunk';
import { getTranscriptFile } from '../../../functions/core/transcripts/transcript-files';
import { realWav } from '../../support/audio-fixtures';

let root: string;
let sql: Sql;
let store: DirectoryObjectStore;
let recognizer: PocketsphinxTranscriber;
const silent = Object.fromEntries(['debug', 'info', 'warn', 'error'].map((level) => [level, () => undefined])) as unknown as Logger;
const audio = { acceptedFormats: ['wav'] as const, maxBytes: 4 * 1024 * 1024 };
const SESSION = 'duo';
let interviewer: GeneratedTranscript;
let candidate: GeneratedTranscript;
let failedChunk: string;
let pendingChunk: string;
let createdAt: number;

/**
 * Sets the chunk's track as an upload with ?sequence=&speaker=&started_at= leaves it: started_at from the
 * session's created_at as the API shows it (to the millisecond; the column holds microseconds).
 */
const setTrack = (chunkId: string, sequence: number, speaker: string, startedMs: number | null) =>
  sql.query(
    `UPDATE audio_chunks a SET sequence = :sequence, speaker = :speaker,
            started_at = date_trunc('milliseconds', s.created_at) + CAST(:started_ms AS integer) * interval '1 millisecond'
     FROM sessions s WHERE s.session_id = a.session_id AND a.chunk_id = CAST(:chunk_id AS bigint)`,
    { chunk_id: chunkId, sequence, speaker, started_ms: startedMs },
  );

/** A chunk row as the upload left it, with the status a run left on it; no transcript. */
const insertChunk = async (status: 'failed' | 'pending', error: string | null) => {
  const [row] = await sql.query<{ chunk_id: string }>(
    `INSERT INTO audio_chunks (session_id, content_type, audio_key, size_bytes, sample_rate, channels, duration, transcript_status, transcript_error)
     VALUES (:session_id, 'audio/wav', 'audio/duo/x.wav', 32044, 16000, 1, 1, :status, :error) RETURNING chunk_id::text AS chunk_id`,
    { session_id: SESSION, status, error },
  );
  return row!.chunk_id;
};

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'interview-ops-session-speakers-'));
  sql = await openPgliteSql();
  await migrate(sql, loadMigrations());
  store = await new DirectoryObjectStore(root).open();
  recognizer = new PocketsphinxTranscriber({ logger: silent, warm: true });
  await createSession({ sql }, { session_id: SESSION });
  const deps = { sql, store, transcriber: recognizer, logger: silent, audio };
  const transcribed = async (clip: string) => {
    const chunk = await ingestAudioChunk({ sql, store, audio }, { sessionId: SESSION, contentType: 'audio/wav', bytes: realWav(clip) });
    return transcribeChunk(deps, { chunkId: chunk.chunk_id, deadline: Date.now() + 60_000 });
  };
  // Uploaded out of order: the candidate's later chunk first. Sequence, not upload order, orders them.
  candidate = await transcribed('cards/004.wav');
  interviewer = await transcribed('cards/001.wav');
  await setTrack(interviewer.chunk_id, 0, 'interviewer', 0);
  await setTrack(candidate.chunk_id, 1, 'candidate', 30_000);
  // Sequence 2 never arrives; 3 failed; 4 is pending and says nothing of when it started.
  failedChunk = await insertChunk('failed', 'Invalid audio: The audio holds no samples');
  await setTrack(failedChunk, 3, 'candidate', 60_000);
  pendingChunk = await insertChunk('pending', null);
  await setTrack(pendingChunk, 4, 'interviewer', null);
  await sql.query('UPDATE audio_chunks SET started_at = NULL WHERE chunk_id = CAST(:chunk_id AS bigint)', { chunk_id: pendingChunk });
  const [session] = await sql.query<{ created_ms: number }>(
    `SELECT (extract(epoch FROM date_trunc('milliseconds', created_at)) * 1000)::float8 AS created_ms FROM sessions WHERE session_id = :session_id`,
    { session_id: SESSION },
  );
  createdAt = Number(session!.created_ms);
}, 120_000);

afterAll(async () => {
  await recognizer?.close();
  await sql?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

const round3 = (value: number) => Math.round(value * 1000) / 1000;

describe('the session timeline from the chunk rows', () => {
  it('orders chunks by sequence and places each at its started_at, else where the one before it ends', async () => {
    const doc = (await sessionTranscript({ sql, store }, { sessionId: SESSION, format: 'json' })) as SessionTranscript;
    expect(doc.chunks.map((c) => [c.chunk_id, c.sequence, c.speaker, c.offset, c.transcript_status])).toEqual([
      [interviewer.chunk_id, 0, 'interviewer', 0, 'done'],
      [candidate.chunk_id, 1, 'candidate', 30, 'done'],
      [failedChunk, 3, 'candidate', 60, 'failed'],
      [pendingChunk, 4, 'interviewer', 61, 'pending'],
    ]);
    expect(doc.chunks[1]!.started_at).toBe(new Date(createdAt + 30_000).toISOString());
    expect(doc.chunks[3]!.started_at).toBeNull();
    expect(doc.duration).toBe(62);
  });

  it('gives each turn its speaker, and sums each speaker', async () => {
    const doc = (await sessionTranscript({ sql, store }, { sessionId: SESSION, format: 'json' })) as SessionTranscript;
    expect(doc.segments.map((s) => [s.speaker, s.text, s.chunk_id])).toEqual([
      ['interviewer', 'ten of clubs', interviewer.chunk_id],
      ['candidate', 'five five', candidate.chunk_id],
    ]);
    expect(doc.segments[1]!.start).toBeGreaterThanOrEqual(30);
    expect(doc.segments[1]!.end).toBeLessThanOrEqual(30 + candidate.duration);
    expect(doc.speakers.map((s) => [s.speaker, s.segments, s.words])).toEqual([
      ['interviewer', 1, 3],
      ['candidate', 1, 2],
    ]);
    expect(doc.speakers[0]!.seconds).toBe(round3(doc.segments[0]!.end - doc.segments[0]!.start));
  });

  it('lists the missing sequence number, the failed and the pending chunk as gaps, in time order', async () => {
    const doc = (await sessionTranscript({ sql, store }, { sessionId: SESSION, format: 'json' })) as SessionTranscript;
    expect(doc.gaps).toEqual([
      {
        chunk_id: null,
        sequence: 2,
        offset: round3(30 + candidate.duration),
        status: 'missing',
        reason: 'no chunk with sequence 2 was uploaded',
      },
      {
        chunk_id: failedChunk,
        sequence: 3,
        offset: 60,
        status: 'failed',
        reason: `Transcription failed (Invalid audio: The audio holds no samples); retry with POST /process_chunk/${failedChunk}`,
      },
      { chunk_id: pendingChunk, sequence: 4, offset: 61, status: 'pending', reason: 'Not transcribed yet' },
    ]);
  });

  it('marks every gap in txt and names the speakers in txt, srt and vtt', async () => {
    const txt = (await sessionTranscript({ sql, store }, { sessionId: SESSION, format: 'txt' })) as { body: string };
    const lines = txt.body.trim().split('\n');
    expect(lines).toEqual([
      '[00:00:00] interviewer: ten of clubs',
      expect.stringMatching(/^\[00:00:3\d\] candidate: five five$/),
      '[missing: no chunk with sequence 2 was uploaded]',
      `[chunk ${failedChunk}: failed]`,
      `[chunk ${pendingChunk}: pending]`,
    ]);
    const srt = (await sessionTranscript({ sql, store }, { sessionId: SESSION, format: 'srt' })) as { body: string };
    expect(srt.body).toContain('interviewer: ten of clubs');
    expect(srt.body).toContain('candidate: five five');
    const vtt = (await sessionTranscript({ sql, store }, { sessionId: SESSION, format: 'vtt' })) as { body: string };
    expect(vtt.body).toContain('<v candidate>five five');
  });

  it('keeps a missing sequence number with the page holding the chunk after it', async () => {
    const page = (await sessionTranscript(
      { sql, store },
      { sessionId: SESSION, format: 'json', fromChunk: failedChunk, toChunk: pendingChunk },
    )) as SessionTranscript;
    expect(page.gaps.map((g) => g.sequence)).toEqual([2, 3, 4]);
    const first = (await sessionTranscript(
      { sql, store },
      { sessionId: SESSION, format: 'json', fromChunk: candidate.chunk_id, toChunk: interviewer.chunk_id },
    )) as SessionTranscript;
    expect(first.gaps).toEqual([]);
  });
});

describe('GET /transcript and search read the track from the row', () => {
  it('answers speaker and started_at with the stored transcript', async () => {
    expect(await getTranscriptFile({ sql, store }, SESSION, candidate.chunk_id)).toMatchObject({
      transcript: 'five five',
      speaker: 'candidate',
      started_at: new Date(createdAt + 30_000).toISOString(),
    });
  });

  it('returns the speaker and the offset from started_at, and filters by speaker', async () => {
    const five = await searchTranscripts({ sql }, { q: 'five', limit: 10 });
    expect(five.results).toEqual([
      {
        session_id: SESSION,
        chunk_id: candidate.chunk_id,
        speaker: 'candidate',
        offset: 30,
        rank: expect.any(Number),
        snippet: '<b>five</b> <b>five</b>',
      },
    ]);
    expect((await searchTranscripts({ sql }, { q: 'five', speaker: 'candidate', limit: 10 })).results).toHaveLength(1);
    expect((await searchTranscripts({ sql }, { q: 'five', speaker: 'interviewer', limit: 10 })).results).toEqual([]);
    const clubs = await searchTranscripts({ sql }, { q: 'clubs', speaker: 'interviewer', limit: 10 });
    expect(clubs.results.map((r) => [r.chunk_id, r.speaker, r.offset])).toEqual([[interviewer.chunk_id, 'interviewer', 0]]);
  });
});
