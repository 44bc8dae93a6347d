/**
 * Reading a session's transcript back and searching it, in core on real parts: PGlite with the
 * migrations, the directory store (every call counted), the warm pocketsphinx recognizer writing the
 * transcripts. No read transcribes; the timeline costs one query and one sidecar read per done chunk.
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
import type { DomainError } from '../../../functions/core/errors';
import { migrate } from '../../../functions/core/migrations';
import type { Logger } from '../../../functions/core/ports/logger';
import type { ObjectStore } from '../../../functions/core/ports/object-store';
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
const generated: GeneratedTranscript[] = [];
let pendingChunk: string;

/** The real store and database, every call counted. */
const counted = <T extends object>(target: T, calls: Record<string, number>): T =>
  new Proxy(target, {
    get(object, property, receiver) {
      const value = Reflect.get(object, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls[String(property)] = (calls[String(property)] ?? 0) + 1;
        return value.apply(object, args);
      };
    },
  });

const audio = { acceptedFormats: ['wav'] as const, maxBytes: 4 * 1024 * 1024 };

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'interview-ops-session-transcript-'));
  sql = await openPgliteSql();
  await migrate(sql, loadMigrations());
  store = await new DirectoryObjectStore(root).open();
  recognizer = new PocketsphinxTranscriber({ logger: silent, warm: true });
  await createSession({ sql }, { session_id: 'talk' });
  await createSession({ sql }, { session_id: 'other' });
  await createSession({ sql }, { session_id: 'quiet' });
  const deps = { sql, store, transcriber: recognizer, logger: silent, audio };
  for (const [session, clip] of [
    ['talk', 'cards/001.wav'],
    ['talk', 'cards/004.wav'],
    ['talk', 'cards/005.wav'],
    ['other', 'cards/003.wav'],
  ] as const) {
    const chunk = await ingestAudioChunk({ sql, store, audio }, { sessionId: session, contentType: 'audio/wav', bytes: realWav(clip) });
    generated.push(await transcribeChunk(deps, { chunkId: chunk.chunk_id, deadline: Date.now() + 60_000 }));
  }
  pendingChunk = (
    await ingestAudioChunk({ sql, store, audio }, { sessionId: 'talk', contentType: 'audio/wav', bytes: realWav('cards/002.wav') })
  ).chunk_id;
}, 120_000);

afterAll(async () => {
  await recognizer?.close();
  await sql?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('getTranscriptFile', () => {
  it('answers what POST /process_chunk returned, from the stored files', async () => {
    const made = generated[0]!;
    const calls: Record<string, number> = {};
    const read = await getTranscriptFile({ sql, store: counted<ObjectStore>(store, calls) }, 'talk', made.chunk_id);
    expect(read).toMatchObject({
      transcript: made.transcript,
      confidence: made.confidence,
      language: made.language,
      duration: made.duration,
      speaker: null,
      started_at: null,
      exists: true,
    });
    expect(read.transcript).toBe('ten of clubs');
    expect(read.words.map((w) => w.word)).toEqual(['ten', 'of', 'clubs']);
    expect(calls).toEqual({ head: 1, get: 1, locationOf: 1 });
  });
});

describe('sessionTranscript', () => {
  it('puts every chunk on one timeline in one query and one sidecar read per done chunk', async () => {
    const sqlCalls: Record<string, number> = {};
    const storeCalls: Record<string, number> = {};
    const doc = (await sessionTranscript(
      { sql: counted<Sql>(sql, sqlCalls), store: counted<ObjectStore>(store, storeCalls) },
      { sessionId: 'talk', format: 'json' },
    )) as SessionTranscript;
    expect(sqlCalls).toEqual({ query: 1 });
    expect(storeCalls).toEqual({ get: 3 });
    const durations = [generated[0]!.duration, generated[1]!.duration, generated[2]!.duration];
    const after = (n: number) => Math.round(durations.slice(0, n).reduce((a, b) => a + b, 0) * 1000) / 1000;
    expect(doc.chunks.map((c) => c.offset)).toEqual([0, after(1), after(2), after(3)]);
    expect(doc.chunks.map((c) => c.transcript_status)).toEqual(['done', 'done', 'done', 'pending']);
    expect(doc.gaps).toEqual([
      { chunk_id: pendingChunk, sequence: null, offset: after(3), status: 'pending', reason: 'Not transcribed yet' },
    ]);
    expect(doc.speakers).toEqual([]);
    expect(doc.chunks.every((c) => c.speaker === null && c.started_at === null && c.sequence === null)).toBe(true);
    expect(doc.segments.map((s) => s.text).join(' ')).toBe('ten of clubs five five eight of spades four of clubs seven of hearts');
    const starts = doc.segments.map((s) => s.start);
    expect(starts).toEqual([...starts].sort((a, b) => a - b));
    for (const [i, segment] of doc.segments.entries()) {
      const chunk = doc.chunks.find((c) => c.chunk_id === segment.chunk_id)!;
      expect(segment.start).toBeGreaterThanOrEqual(chunk.offset);
      expect(segment.end).toBeLessThanOrEqual(chunk.offset + chunk.duration + 0.001);
      if (i > 0) expect(segment.start).toBeGreaterThanOrEqual(doc.segments[i - 1]!.end);
    }
    expect(doc.duration).toBeGreaterThan(durations.reduce((a, b) => a + b, 0));
  });

  it('renders txt with the gap marked, and captions', async () => {
    const text = await sessionTranscript({ sql, store }, { sessionId: 'talk', format: 'txt' });
    expect(text).toMatchObject({ contentType: 'text/plain; charset=utf-8' });
    const lines = (text as { body: string }).body.trim().split('\n');
    expect(lines[0]).toBe('[00:00:00] ten of clubs');
    expect(lines.at(-1)).toBe(`[chunk ${pendingChunk}: pending]`);
    expect(await sessionTranscript({ sql, store }, { sessionId: 'talk', format: 'vtt' })).toMatchObject({
      contentType: 'text/vtt; charset=utf-8',
    });
    expect(await sessionTranscript({ sql, store }, { sessionId: 'talk', format: 'srt' })).toMatchObject({
      contentType: 'application/x-subrip; charset=utf-8',
    });
  });

  it('answers 413 past the response limit, saying to page, and pages by chunk id on the same timeline', async () => {
    const whole = (await sessionTranscript({ sql, store }, { sessionId: 'talk', format: 'json' })) as SessionTranscript;
    const size = Buffer.byteLength(JSON.stringify(JSON.stringify(whole)));
    const refusal = await sessionTranscript({ sql, store }, { sessionId: 'talk', format: 'json', maxResponseBytes: size }).catch(
      (error: DomainError) => error,
    );
    expect(refusal).toMatchObject({ kind: 'too_large' });
    expect((refusal as DomainError).detail).toContain('?from_chunk=&to_chunk=');
    const second = generated[1]!.chunk_id;
    const page = (await sessionTranscript(
      { sql, store },
      { sessionId: 'talk', format: 'json', fromChunk: second, toChunk: second },
    )) as SessionTranscript;
    expect(page.chunks).toEqual([whole.chunks[1]]);
    expect(page.segments).toEqual(whole.segments.filter((s) => s.chunk_id === second));
    expect(page.gaps).toEqual([]);
  });

  it('answers 404 for an unknown session and an empty timeline for a session without chunks', async () => {
    await expect(sessionTranscript({ sql, store }, { sessionId: 'nobody', format: 'json' })).rejects.toMatchObject({ kind: 'not_found' });
    expect(await sessionTranscript({ sql, store }, { sessionId: 'quiet', format: 'json' })).toEqual({
      session_id: 'quiet',
      duration: 0,
      speakers: [],
      segments: [],
      chunks: [],
      gaps: [],
    });
  });
});

describe('a sidecar that is not JSON', () => {
  it('makes its chunk a gap in the timeline, and GET /transcript answers from the text object', async () => {
    const made = generated[3]!;
    await store.put(`transcript-details/other/other_${made.chunk_id}.json`, 'not json');
    const doc = (await sessionTranscript({ sql, store }, { sessionId: 'other', format: 'json' })) as SessionTranscript;
    expect(doc.segments).toEqual([]);
    expect(doc.gaps).toEqual([
      {
        chunk_id: made.chunk_id,
        sequence: null,
        offset: 0,
        status: 'missing',
        reason: expect.stringContaining(`POST /process_chunk/${made.chunk_id}`),
      },
    ]);
    const read = await getTranscriptFile({ sql, store }, 'other', made.chunk_id);
    expect(read).toMatchObject({
      transcript: 'seven of clubs',
      confidence: made.confidence,
      language: 'en',
      duration: made.duration,
      words: [],
    });
  });
});

describe('searchTranscripts', () => {
  it('finds a recognized word, ranks the chunk saying it most first, with its offset and a snippet', async () => {
    const found = await searchTranscripts({ sql }, { q: 'clubs', limit: 10 });
    expect(found.results.map((r) => r.chunk_id).sort()).toEqual(
      [generated[0]!.chunk_id, generated[2]!.chunk_id, generated[3]!.chunk_id].sort(),
    );
    const ranks = found.results.map((r) => r.rank);
    expect(ranks).toEqual([...ranks].sort((a, b) => b - a));
    expect(found.results[0]!.snippet).toContain('<b>clubs</b>');
    const five = await searchTranscripts({ sql }, { q: 'five', limit: 10 });
    expect(five.results).toEqual([
      {
        session_id: 'talk',
        chunk_id: generated[1]!.chunk_id,
        speaker: null,
        offset: Math.round(generated[0]!.duration * 1000) / 1000,
        rank: expect.any(Number),
        snippet: '<b>five</b> <b>five</b>',
      },
    ]);
    expect(five.next_cursor).toBeNull();
  });

  it('matches phrases, filters by session, and pages with the cursor', async () => {
    const phrase = await searchTranscripts({ sql }, { q: '"seven of hearts"', limit: 10 });
    expect(phrase.results.map((r) => r.chunk_id)).toEqual([generated[2]!.chunk_id]);
    const inOther = await searchTranscripts({ sql }, { q: 'clubs', sessionId: 'other', limit: 10 });
    expect(inOther.results.map((r) => [r.session_id, r.offset])).toEqual([['other', 0]]);
    const first = await searchTranscripts({ sql }, { q: 'clubs', limit: 2 });
    expect(first.results).toHaveLength(2);
    expect(first.next_cursor).toBe('2');
    const rest = await searchTranscripts({ sql }, { q: 'clubs', limit: 2, cursor: 2 });
    expect(rest.results).toHaveLength(1);
    expect(rest.next_cursor).toBeNull();
    expect(new Set([...first.results, ...rest.results].map((r) => r.chunk_id)).size).toBe(3);
    expect((await searchTranscripts({ sql }, { q: 'the', limit: 5 })).results).toEqual([]);
    expect((await searchTranscripts({ sql }, { q: 'queen', limit: 5 })).results).toEqual([]);
  });
});
