/**
 * A session's transcript read back whole, followed in time, exported and searched, over real HTTP against
 * the target with its real recognizer: `npm start` (pocketsphinx) or, with TARGET=twin, the twin of what
 * `cdk deploy` ships (Transcribe's stand-in at real time, PostgreSQL 15 behind the Data API stand-in).
 * Three chunks of real speech. Gaps (a failed and a pending chunk) are test/e2e/transcript-gaps.test.ts;
 * two speakers, test/e2e/two-speakers.test.ts.
 */
import { type NodeCue, parseSync } from 'subtitle';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realWav } from '../support/audio-fixtures';
import { expectRefusal } from '../support/http';
import { startTarget, TARGET_START_TIMEOUT_MS, type Target } from '../support/target';

let target: Target;
const call: Target['request'] = (method, path, init) => target.request(method, path, init);
const SESSION = 'session-timeline';

/** What the three clips say (Debian's pocketsphinx test recordings), in upload order. */
const CLIPS = [
  { file: 'cards/001.wav', spoken: 'ten of clubs' },
  { file: 'cards/004.wav', spoken: 'five five' },
  { file: 'cards/005.wav', spoken: 'eight of spades four of clubs seven of hearts' },
];
/** The twin's Transcribe capitalizes each chunk's first word; search and comparisons here ignore case. */
const lower = (text: string) => text.toLowerCase();

interface Segment {
  start: number;
  end: number;
  speaker: string | null;
  text: string;
  confidence: number;
  chunk_id: string;
  words: { word: string; start: number; end: number; confidence: number }[];
}
interface Timeline {
  session_id: string;
  duration: number;
  segments: Segment[];
  chunks: { chunk_id: string; offset: number; duration: number; transcript_status: string }[];
  gaps: { chunk_id: string; status: string; reason: string }[];
}

const upload = async (sessionId: string, bytes: Uint8Array) => {
  const response = await call('POST', `/sessions/${sessionId}/audio_chunks`, { body: bytes, headers: { 'content-type': 'audio/wav' } });
  expect(response.status).toBe(201);
  return response.json.data as { chunk_id: string; duration: number };
};

/** Polls the timeline until every chunk is done (the upload answers before transcription runs). */
const awaitDone = async (sessionId: string, count: number): Promise<Timeline> => {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const response = await call('GET', `/sessions/${sessionId}/transcript`);
    expect(response.status).toBe(200);
    const timeline = response.json.data as Timeline;
    if ((timeline.chunks.length === count && timeline.gaps.length === 0) || Date.now() > deadline) return timeline;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
};

const cuesOf = (text: string) =>
  parseSync(text)
    .filter((node): node is NodeCue => node.type === 'cue')
    .map((node) => node.data);

let chunkIds: string[];
let timeline: Timeline;

beforeAll(async () => {
  target = await startTarget();
  expect((await call('POST', '/sessions', { json: { session_id: SESSION } })).status).toBe(201);
  expect((await call('POST', '/sessions', { json: { session_id: 'session-bystander' } })).status).toBe(201);
  chunkIds = [];
  for (const clip of CLIPS) chunkIds.push((await upload(SESSION, realWav(clip.file))).chunk_id);
  // Another session saying "clubs" too: search must still rank by what each chunk says.
  await upload('session-bystander', realWav('cards/003.wav'));
  timeline = await awaitDone(SESSION, CLIPS.length);
}, TARGET_START_TIMEOUT_MS + 150_000);

afterAll(async () => {
  await target?.stop();
});

describe('GET /sessions/{session_id}/transcript', () => {
  it('puts the three chunks on one timeline, in order, with increasing times (json)', () => {
    expect(timeline.session_id).toBe(SESSION);
    expect(timeline.gaps).toEqual([]);
    expect(timeline.chunks.map((chunk) => chunk.chunk_id)).toEqual(chunkIds);
    expect(timeline.chunks.every((chunk) => chunk.transcript_status === 'done')).toBe(true);
    // Each chunk starts where the ones before it end.
    let elapsed = 0;
    for (const chunk of timeline.chunks) {
      expect(chunk.offset).toBeCloseTo(elapsed, 3);
      elapsed += chunk.duration;
    }
    expect(timeline.duration).toBeCloseTo(elapsed, 3);
    expect(lower(timeline.segments.map((segment) => segment.text).join(' '))).toBe(CLIPS.map((clip) => clip.spoken).join(' '));
    expect(timeline.segments.map((segment) => segment.chunk_id)).toEqual(
      [...timeline.segments.map((segment) => segment.chunk_id)].sort((a, b) => Number(a) - Number(b)),
    );
    let last = -1;
    for (const segment of timeline.segments) {
      const chunk = timeline.chunks.find((c) => c.chunk_id === segment.chunk_id)!;
      expect(segment.start).toBeGreaterThan(last);
      expect(segment.end).toBeGreaterThanOrEqual(segment.start);
      expect(segment.start).toBeGreaterThanOrEqual(chunk.offset);
      expect(segment.end).toBeLessThanOrEqual(chunk.offset + chunk.duration + 0.001);
      expect(segment.speaker).toBeNull();
      expect(segment.words[0]!.start).toBe(segment.start);
      expect(segment.words.at(-1)!.end).toBe(segment.end);
      last = segment.end;
    }
  });

  it('gives each chunk the word times of its stored details, moved by its offset', async () => {
    for (const chunk of timeline.chunks) {
      const details = JSON.parse(
        (await target.readKey(`transcript-details/${SESSION}/${SESSION}_${chunk.chunk_id}.json`))!.toString('utf8'),
      );
      const placed = timeline.segments.filter((s) => s.chunk_id === chunk.chunk_id).flatMap((s) => s.words);
      expect(placed.map((w) => w.word)).toEqual(details.words.map((w: { word: string }) => w.word));
      for (const [i, word] of placed.entries()) expect(word.start).toBeCloseTo(chunk.offset + details.words[i].start, 3);
    }
  });

  it('exports readable text, one timed line per segment', async () => {
    const response = await call('GET', `/sessions/${SESSION}/transcript?format=txt`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const lines = response.text.trim().split('\n');
    expect(lines).toHaveLength(timeline.segments.length);
    for (const [i, line] of lines.entries()) {
      const match = /^\[(\d{2}):(\d{2}):(\d{2})\] (.+)$/.exec(line);
      expect(match, line).not.toBeNull();
      expect(Number(match![1]) * 3600 + Number(match![2]) * 60 + Number(match![3])).toBe(Math.floor(timeline.segments[i]!.start));
      expect(match![4]).toBe(timeline.segments[i]!.text);
    }
  });

  it.each([
    ['srt', /^application\/x-subrip/],
    ['vtt', /^text\/vtt/],
  ])('exports %s captions that parse into one cue per segment, timed by its words', async (format, contentType) => {
    const response = await call('GET', `/sessions/${SESSION}/transcript?format=${format}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(contentType);
    if (format === 'vtt') expect(response.text.startsWith('WEBVTT')).toBe(true);
    const cues = cuesOf(response.text);
    expect(cues).toHaveLength(timeline.segments.length);
    for (const [i, cue] of cues.entries()) {
      const segment = timeline.segments[i]!;
      expect(cue.text).toBe(segment.text);
      expect(cue.start).toBe(Math.round(segment.words[0]!.start * 1000));
      expect(cue.end).toBe(Math.max(Math.round(segment.words.at(-1)!.end * 1000), cue.start + 1));
      if (i > 0) expect(cue.start).toBeGreaterThan(cues[i - 1]!.start);
    }
  });

  it('pages by chunk id on the same timeline', async () => {
    const middle = chunkIds[1]!;
    const response = await call('GET', `/sessions/${SESSION}/transcript?from_chunk=${middle}&to_chunk=${middle}`);
    expect(response.status).toBe(200);
    const page = response.json.data as Timeline;
    expect(page.chunks).toEqual([timeline.chunks[1]]);
    expect(page.segments).toEqual(timeline.segments.filter((segment) => segment.chunk_id === middle));
    expect(page.duration).toBe(timeline.duration);
  });

  it('answers 404 for an unknown session and 400 for a bad format or chunk bound', async () => {
    expectRefusal(await call('GET', '/sessions/no-such-session/transcript'), 404);
    expectRefusal(await call('GET', `/sessions/${SESSION}/transcript?format=pdf`), 400);
    expectRefusal(await call('GET', `/sessions/${SESSION}/transcript?from_chunk=x`), 400);
    expectRefusal(await call('GET', `/sessions/${SESSION}/transcript?page=2`), 400);
  });
});

describe('GET /transcript/{session_id}/{chunk_id}', () => {
  it('answers the values POST /process_chunk returned, read from what is stored', async () => {
    const chunkId = chunkIds[0]!;
    const generated = await call('POST', `/process_chunk/${chunkId}?session_id=${SESSION}`);
    expect(generated.status).toBe(200);
    const read = await call('GET', `/transcript/${SESSION}/${chunkId}`);
    expect(read.status).toBe(200);
    const { transcript, confidence, language, duration, created_at, file_size, filename, file_path } = generated.json.data;
    expect(read.json.data).toMatchObject({
      transcript,
      confidence,
      language,
      duration,
      created_at,
      file_size,
      filename,
      file_path,
      speaker: null,
      started_at: null,
    });
    expect(lower(read.json.data.words.map((w: { word: string }) => w.word).join(' '))).toBe(CLIPS[0]!.spoken);
    for (const word of read.json.data.words) {
      expect(Object.keys(word).sort()).toEqual(['confidence', 'end', 'start', 'word']);
      expect(word.end).toBeGreaterThanOrEqual(word.start);
      expect(word.end).toBeLessThanOrEqual(duration);
    }
  });
});

describe('GET /search/transcripts', () => {
  it('finds a recognized word and ranks the chunk that said it first', async () => {
    const response = await call('GET', '/search/transcripts?q=spades');
    expect(response.status).toBe(200);
    const { results, next_cursor } = response.json.data;
    expect(next_cursor).toBeNull();
    expect(results[0]).toMatchObject({ session_id: SESSION, chunk_id: chunkIds[2], speaker: null, offset: timeline.chunks[2]!.offset });
    expect(results[0].rank).toBeGreaterThan(0);
    expect(lower(results[0].snippet)).toContain('<b>spades</b>');
  });

  it('ranks the chunk saying the word twice above the ones saying it once, within a session, and pages', async () => {
    const clubs = await call('GET', '/search/transcripts?q=clubs');
    expect(clubs.json.data.results.map((r: { session_id: string }) => r.session_id).sort()).toEqual(
      ['session-bystander', SESSION, SESSION].sort(),
    );
    const five = await call('GET', `/search/transcripts?q=five%20OR%20clubs&session_id=${SESSION}&limit=2`);
    expect(five.status).toBe(200);
    expect(five.json.data.results.map((r: { chunk_id: string }) => r.chunk_id)[0]).toBe(chunkIds[1]);
    expect(five.json.data.results).toHaveLength(2);
    expect(five.json.data.next_cursor).toBe('2');
    const rest = await call('GET', `/search/transcripts?q=five%20OR%20clubs&session_id=${SESSION}&limit=2&cursor=2`);
    expect(rest.json.data.results).toHaveLength(1);
    expect(rest.json.data.next_cursor).toBeNull();
    const phrase = await call('GET', `/search/transcripts?q=${encodeURIComponent('"four of clubs"')}`);
    expect(phrase.json.data.results.map((r: { chunk_id: string }) => r.chunk_id)).toEqual([chunkIds[2]]);
  });

  it.each([
    ['no q', '/search/transcripts'],
    ['an empty q', '/search/transcripts?q='],
    ['a q over 200 characters', `/search/transcripts?q=${'a'.repeat(201)}`],
    ['a NUL in q', '/search/transcripts?q=a%00b'],
    ['limit 0', '/search/transcripts?q=clubs&limit=0'],
    ['limit 51', '/search/transcripts?q=clubs&limit=51'],
    ['a bad session id', '/search/transcripts?q=clubs&session_id=..%2Fx'],
    ['a bad cursor', '/search/transcripts?q=clubs&cursor=abc'],
    ['a bad speaker', '/search/transcripts?q=clubs&speaker=a%20b'],
  ])('answers 400 for %s', async (_label, path) => {
    expectRefusal(await call('GET', path), 400);
  });
});
