/**
 * Reading transcripts back: the session transcript of a 2-hour session (720 chunks of 10 s, two speakers)
 * and full-text search over 100,000 transcribed chunks, each through the core function the handler calls
 * (PostgreSQL 15, Debian's, started here; the directory store), beside the anchor a client had before:
 * list the transcript objects and get every one of them (then, for search, match and rank the words
 * itself). Store and database requests are counted at the ports, so they are what S3 and the Data API
 * would receive; times are medians of alternating runs on this machine.
 *
 * `tsx bench/transcripts.ts` prints the figures; `runTranscriptsBench()` returns them.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadMigrations } from '../db/migrations';
import { DirectoryObjectStore } from '../functions/adapters/object-store/directory';
import { openPgSql } from '../functions/adapters/sql/pg';
import { transcriptKeyFor, transcriptPrefixFor } from '../functions/core/keys';
import { migrate } from '../functions/core/migrations';
import { listAll, type ObjectStore } from '../functions/core/ports/object-store';
import type { Sql } from '../functions/core/ports/sql';
import { searchTranscripts } from '../functions/core/transcripts/search';
import { type SessionTranscript, sessionTranscript } from '../functions/core/transcripts/session-transcript';
import { type TranscriptDetails, transcriptDetailsKeyFor } from '../functions/core/transcripts/transcript-objects';
import { type CountingObjectStore, countingObjectStore } from '../test/support/counting-object-store';
import { startPostgresServer } from '../test/support/postgres-server';
import { type Comparison, compare, inAlternatingOrder, markdownTable, median, type Progress } from './support/report';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const SESSION = 'bench-2h';
const SESSION_CHUNKS = 720;
const CHUNK_SECONDS = 10;
const WORDS_PER_CHUNK = 25;
const SEARCH_SESSIONS = 1000;
const SEARCH_CHUNKS = 100_000;
const SEARCH_WORDS_PER_CHUNK = 30;
/** A word in about one chunk in ten: a search that has many matches to rank. */
const SEARCH_QUERY = 'recursion';

/** An interview's vocabulary; chunks draw words from it with a fixed hash, so every run seeds the same text. */
const VOCABULARY = (
  'the a so and then we you i it is that this what how why would could should let me think about ' +
  'array list map set tree graph node edge queue stack heap hash table key value index loop recursion ' +
  'binary search sort merge quick insertion bubble complexity time space linear constant logarithmic quadratic ' +
  'function method class object interface type string number integer boolean null pointer reference ' +
  'test case edge input output return result error exception handle check validate parse format ' +
  'database query index transaction lock cache memory disk network request response latency throughput ' +
  'design system service api client server scale shard replica partition consistency availability'
).split(' ');

const wordAt = (chunk: number, position: number) =>
  VOCABULARY[(chunk * 7919 + position * 104_729 + ((chunk * position) % 97)) % VOCABULARY.length]!;

/** Counts every statement sent, as the Data API would bill them. */
const countingSql = (inner: Sql): Sql & { count: number } => {
  const counted = {
    count: 0,
    query: (...args: Parameters<Sql['query']>) => {
      counted.count++;
      return inner.query(...args);
    },
    transaction: inner.transaction.bind(inner),
    close: () => inner.close(),
  };
  return counted as Sql & { count: number };
};

const searchSessionId = (i: number) => `search-${String(i).padStart(4, '0')}`;

const writeObject = async (root: string, key: string, body: string) => {
  const path = join(root, key);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, body);
};

const timed = async <T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> => {
  const started = performance.now();
  const value = await work();
  return { ms: performance.now() - started, value };
};

/** The 2-hour session: rows with sequence, speaker and started_at, and each chunk's text and details in the store. */
const seedSession = async (sql: Sql, root: string) => {
  await sql.query(`INSERT INTO sessions (session_id, created_at) VALUES (:session_id, now() - interval '3 hours')`, {
    session_id: SESSION,
  });
  const rows = await sql.query<{ chunk_id: string; sequence: number }>(
    `INSERT INTO audio_chunks (session_id, content_type, audio_key, size_bytes, sample_rate, channels, duration,
                               transcript_status, sequence, speaker, started_at)
     SELECT s.session_id, 'audio/wav', 'audio/' || s.session_id || '/' || i || '.wav', 320044, 16000, 1, CAST(:seconds AS float8), 'done',
            i, CASE WHEN (i / 3) % 2 = 0 THEN 'interviewer' ELSE 'candidate' END, s.created_at + i * CAST(:seconds AS integer) * interval '1 second'
     FROM sessions s, generate_series(0, CAST(:n AS integer) - 1) AS i WHERE s.session_id = :session_id
     RETURNING chunk_id::text AS chunk_id, sequence`,
    { session_id: SESSION, n: SESSION_CHUNKS, seconds: CHUNK_SECONDS },
  );
  for (const row of rows) {
    const words = Array.from({ length: WORDS_PER_CHUNK }, (_, i) => ({
      word: wordAt(Number(row.sequence), i),
      start: 0.2 + i * 0.38,
      end: 0.5 + i * 0.38,
      confidence: 0.8,
    }));
    const transcript = words.map((word) => word.word).join(' ');
    const details: TranscriptDetails = {
      session_id: SESSION,
      chunk_id: row.chunk_id,
      filename: `${SESSION}_${row.chunk_id}.txt`,
      transcript,
      confidence: 0.8,
      language: 'en-US',
      duration: CHUNK_SECONDS,
      created_at: new Date().toISOString(),
      file_size: Buffer.byteLength(transcript),
      engine: 'bench',
      words,
    };
    await writeObject(root, transcriptKeyFor(SESSION, row.chunk_id), transcript);
    await writeObject(root, transcriptDetailsKeyFor(SESSION, row.chunk_id), JSON.stringify(details));
  }
};

/** 100,000 transcribed chunks in 1,000 sessions: text on the row (what search reads) and as objects (what the anchor reads). */
const seedSearch = async (sql: Sql, root: string, progress: Progress) => {
  await sql.query(
    `INSERT INTO sessions (session_id) SELECT 'search-' || lpad(i::text, 4, '0') FROM generate_series(0, CAST(:n AS integer) - 1) AS i`,
    { n: SEARCH_SESSIONS },
  );
  const perSession = SEARCH_CHUNKS / SEARCH_SESSIONS;
  // The text is built here, with the same function as the session's, and sent a session at a time.
  for (let session = 0; session < SEARCH_SESSIONS; session++) {
    const sessionId = searchSessionId(session);
    const texts = Array.from({ length: perSession }, (_, i) => {
      const chunk = session * perSession + i;
      return Array.from({ length: SEARCH_WORDS_PER_CHUNK }, (_, position) => wordAt(chunk + SESSION_CHUNKS, position)).join(' ');
    });
    const rows = await sql.query<{ chunk_id: string; transcript_text: string }>(
      `INSERT INTO audio_chunks (session_id, content_type, audio_key, size_bytes, sample_rate, channels, duration,
                                 transcript_status, transcript_text, speaker)
       SELECT :session_id, 'audio/wav', 'audio/' || :session_id || '/' || t.n || '.wav', 320044, 16000, 1, 10, 'done', t.text,
              CASE WHEN t.n % 2 = 0 THEN 'interviewer' ELSE 'candidate' END
       FROM unnest(string_to_array(:texts, '|')) WITH ORDINALITY AS t(text, n)
       RETURNING chunk_id::text AS chunk_id, transcript_text`,
      { session_id: sessionId, texts: texts.join('|') },
    );
    for (const row of rows) await writeObject(root, transcriptKeyFor(sessionId, row.chunk_id), row.transcript_text);
    if (session % 100 === 99) progress(`seeded ${(session + 1) * perSession} of ${SEARCH_CHUNKS} chunks`);
  }
  await sql.query('VACUUM ANALYZE audio_chunks');
};

/** The anchor: list the session's transcript objects and get each one, in order. */
const readEveryObject = async (store: ObjectStore, prefix: string): Promise<{ key: string; text: string }[]> => {
  const texts: { key: string; text: string }[] = [];
  for await (const object of listAll(store, prefix)) {
    const stored = await store.get(object.key);
    if (stored) texts.push({ key: object.key, text: Buffer.from(stored.body).toString('utf8') });
  }
  return texts;
};

/**
 * The anchor for search: every session's objects listed and read (a client knows its sessions; one
 * listing of the whole prefix would cost the directory store a walk of every file per page), the word
 * counted in each, the top 20 by count.
 */
const searchEveryObject = async (store: ObjectStore, sessionIds: readonly string[], word: string) => {
  const texts: { key: string; text: string }[] = [];
  for (const sessionId of sessionIds) texts.push(...(await readEveryObject(store, transcriptPrefixFor(sessionId))));
  const matches = texts
    .map(({ key, text }) => ({ key, hits: text.split(' ').filter((w) => w.toLowerCase() === word).length }))
    .filter((match) => match.hits > 0)
    .sort((a, b) => b.hits - a.hits);
  return { read: texts.length, matches: matches.length, keys: new Set(matches.map((match) => match.key)), top: matches.slice(0, 20) };
};

const totalRequests = (store: CountingObjectStore) => Object.values(store.counts).reduce((sum, count) => sum + count, 0);

export const runTranscriptsBench = async (progress: Progress = (message) => console.error(message)): Promise<Comparison[]> => {
  const server = await startPostgresServer({ settings: { shared_buffers: '256MB' } });
  const root = await mkdtemp(join(tmpdir(), 'interview-ops-bench-transcripts-'));
  const pgSql = await openPgSql(server.url, { maxConnections: 2 });
  try {
    await migrate(pgSql, loadMigrations());
    progress(`seeding a ${SESSION_CHUNKS}-chunk session`);
    await seedSession(pgSql, root);
    progress(`seeding ${SEARCH_CHUNKS} chunks for search`);
    await seedSearch(pgSql, root, progress);
    const store = countingObjectStore(await new DirectoryObjectStore(root).open());
    const sql = countingSql(pgSql);
    const searchSessions = Array.from({ length: SEARCH_SESSIONS }, (_, i) => searchSessionId(i));
    const results: Comparison[] = [];

    // The session transcript, json.
    const ours: number[] = [];
    const anchor: number[] = [];
    let oursRequests = { store: 0, database: 0, counts: '' };
    let anchorRequests = { store: 0, counts: '' };
    let doc: SessionTranscript | undefined;
    await sessionTranscript({ sql, store }, { sessionId: SESSION, format: 'json' });
    await readEveryObject(store, transcriptPrefixFor(SESSION));
    for (let run = 1; run <= RUNS; run++) {
      progress(`session transcript, run ${run} of ${RUNS}`);
      await inAlternatingOrder(
        run,
        async () => {
          store.reset();
          sql.count = 0;
          const { ms, value } = await timed(() => sessionTranscript({ sql, store }, { sessionId: SESSION, format: 'json' }));
          ours.push(ms);
          doc = value as SessionTranscript;
          oursRequests = { store: totalRequests(store), database: sql.count, counts: JSON.stringify(store.counts) };
        },
        async () => {
          store.reset();
          const { ms, value } = await timed(() => readEveryObject(store, transcriptPrefixFor(SESSION)));
          anchor.push(ms);
          if (value.length !== SESSION_CHUNKS) throw new Error(`the anchor read ${value.length} transcripts`);
          anchorRequests = { store: totalRequests(store), counts: JSON.stringify(store.counts) };
        },
      );
    }
    if (doc?.chunks.length !== SESSION_CHUNKS || doc.gaps.length !== 0 || doc.speakers.length !== 2) {
      throw new Error('the session transcript did not cover the session');
    }
    const sessionName = `Session transcript, ${SESSION_CHUNKS} chunks (2 h)`;
    results.push(
      compare({
        benchmark: sessionName,
        metric: 'store requests',
        unit: 'requests',
        ours: oursRequests.store,
        anchor: anchorRequests.store,
        anchorName: 'list + get every transcript object',
        target: 'ours <= one per chunk',
        check: ({ ours: requests }) => requests <= SESSION_CHUNKS,
        runs: RUNS,
        note: `ours ${oursRequests.counts} (the details sidecars: words and times); anchor ${anchorRequests.counts} (text only, no times or speakers)`,
      }),
      compare({
        benchmark: sessionName,
        metric: 'database requests',
        unit: 'requests',
        ours: oursRequests.database,
        anchorName: 'list + get every transcript object',
        anchor: 0,
        target: 'ours <= 1',
        check: ({ ours: requests }) => requests <= 1,
        runs: RUNS,
        note: 'one query for the chunk rows: status, sequence, speaker, started_at',
      }),
      compare({
        benchmark: sessionName,
        metric: 'time, json',
        unit: 'ms',
        ours: median(ours),
        anchor: median(anchor),
        anchorName: 'list + get every transcript object',
        runs: RUNS,
        note: `directory store on local disk, PostgreSQL 15 on loopback; ours builds ${doc.segments.length} segments from ${SESSION_CHUNKS * WORDS_PER_CHUNK} timed words`,
      }),
    );

    // Search.
    const oursSearch: number[] = [];
    const anchorSearch: number[] = [];
    let searchRequests = { store: 0, database: 0 };
    let anchorSearchRequests = { store: 0, counts: '' };
    let found: Awaited<ReturnType<typeof searchTranscripts>> | undefined;
    let scanned: Awaited<ReturnType<typeof searchEveryObject>> | undefined;
    await searchTranscripts({ sql }, { q: SEARCH_QUERY, limit: 20 });
    const searchRuns = Math.max(3, Math.ceil(RUNS / 2));
    for (let run = 1; run <= searchRuns; run++) {
      progress(`search, run ${run} of ${searchRuns}`);
      await inAlternatingOrder(
        run,
        async () => {
          store.reset();
          sql.count = 0;
          const { ms, value } = await timed(() => searchTranscripts({ sql }, { q: SEARCH_QUERY, limit: 20 }));
          oursSearch.push(ms);
          found = value;
          searchRequests = { store: totalRequests(store), database: sql.count };
        },
        async () => {
          store.reset();
          const { ms, value } = await timed(() => searchEveryObject(store, searchSessions, SEARCH_QUERY));
          anchorSearch.push(ms);
          scanned = value;
          anchorSearchRequests = { store: totalRequests(store), counts: JSON.stringify(store.counts) };
        },
      );
    }
    // Both answer the same question: every chunk search returns is one the anchor matched.
    if (scanned!.read < SEARCH_CHUNKS || found!.results.length !== 20) throw new Error('search or its anchor came up short');
    const strays = found!.results.filter((result) => !scanned!.keys.has(transcriptKeyFor(result.session_id, result.chunk_id)));
    if (strays.length > 0) throw new Error(`search returned ${strays.length} chunks the anchor did not match`);
    const searchName = `Search, ${SEARCH_CHUNKS.toLocaleString('en-US')} chunks`;
    const searchNote = `q=${SEARCH_QUERY}, 20 results ranked of ${scanned!.matches} matching chunks`;
    results.push(
      compare({
        benchmark: searchName,
        metric: 'store requests',
        unit: 'requests',
        ours: searchRequests.store,
        anchor: anchorSearchRequests.store,
        anchorName: 'list each session + get every transcript object, match and rank in the client',
        target: 'ours = 0',
        check: ({ ours: requests }) => requests === 0,
        runs: searchRuns,
        note: `anchor ${anchorSearchRequests.counts}`,
      }),
      compare({
        benchmark: searchName,
        metric: 'database requests',
        unit: 'requests',
        ours: searchRequests.database,
        anchor: 0,
        anchorName: 'list each session + get every transcript object, match and rank in the client',
        target: 'ours <= 1',
        check: ({ ours: requests }) => requests <= 1,
        runs: searchRuns,
        note: 'one query: tsvector GIN index, ts_rank, ts_headline for the page only',
      }),
      compare({
        benchmark: searchName,
        metric: 'time',
        unit: 'ms',
        ours: median(oursSearch),
        anchor: median(anchorSearch),
        anchorName: 'list each session + get every transcript object, match and rank in the client',
        runs: searchRuns,
        note: `${searchNote}; directory store on local disk (S3 would add a round trip per request), PostgreSQL 15 on loopback`,
      }),
    );
    return results;
  } finally {
    await pgSql.close();
    await server.stop();
    await rm(root, { recursive: true, force: true });
  }
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(markdownTable(await runTranscriptsBench()));
}
