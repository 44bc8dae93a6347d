/**
 * Two speakers over real HTTP: each chunk uploaded with the documented `?sequence=&speaker=&started_at=`
 * query parameters (started_at as milliseconds since the session began, or as an ISO 8601 instant), real
 * speech recognized by the target, and the session transcript in every format with each turn in its
 * place and named; GET /transcript and search answer the speaker too.
 */
import { type NodeCue, parseSync } from 'subtitle';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realWav } from '../support/audio-fixtures';
import { startTarget, TARGET_START_TIMEOUT_MS, type Target } from '../support/target';

let target: Target;
const call: Target['request'] = (method, path, init) => target.request(method, path, init);
const SESSION = 'session-two-speakers';
/** The twin's Transcribe capitalizes each chunk's first word. */
const lower = (text: string) => text.toLowerCase();

interface Timeline {
  duration: number;
  speakers: { speaker: string; segments: number; words: number; seconds: number }[];
  segments: { start: number; end: number; speaker: string | null; text: string; chunk_id: string }[];
  chunks: { chunk_id: string; sequence: number | null; speaker: string | null; started_at: string | null; offset: number }[];
  gaps: unknown[];
}

/** Who says what, and when (seconds after the session began). */
const TURNS = [
  { clip: 'cards/001.wav', speaker: 'interviewer', at: 0, spoken: 'ten of clubs' },
  { clip: 'cards/005.wav', speaker: 'candidate', at: 5, spoken: 'eight of spades four of clubs seven of hearts' },
  { clip: 'cards/004.wav', speaker: 'interviewer', at: 20, spoken: 'five five' },
];

let createdAt: string;
let chunkIds: string[];
let timeline: Timeline;

beforeAll(async () => {
  target = await startTarget();
  const created = await call('POST', '/sessions', { json: { session_id: SESSION } });
  expect(created.status).toBe(201);
  createdAt = created.json.data.created_at;
  chunkIds = [];
  for (const [sequence, turn] of TURNS.entries()) {
    // The last turn's start as an instant, the others as offsets: both forms the upload documents.
    const startedAt = sequence === 2 ? new Date(Date.parse(createdAt) + turn.at * 1000).toISOString() : String(turn.at * 1000);
    const query = new URLSearchParams({ sequence: String(sequence), speaker: turn.speaker, started_at: startedAt });
    const response = await call('POST', `/sessions/${SESSION}/audio_chunks?${query}`, {
      body: realWav(turn.clip),
      headers: { 'content-type': 'audio/wav' },
    });
    expect(response.status).toBe(201);
    chunkIds.push(response.json.data.chunk_id);
  }
  const deadline = Date.now() + 120_000;
  for (;;) {
    const response = await call('GET', `/sessions/${SESSION}/transcript`);
    expect(response.status).toBe(200);
    timeline = response.json.data;
    if ((timeline.chunks.length === TURNS.length && timeline.gaps.length === 0) || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}, TARGET_START_TIMEOUT_MS + 150_000);

afterAll(async () => {
  await target?.stop();
});

describe('a session of two speakers', () => {
  it('places each chunk at its started_at with its sequence and speaker (json)', () => {
    expect(timeline.gaps).toEqual([]);
    expect(timeline.chunks.map((c) => [c.chunk_id, c.sequence, c.speaker, c.offset])).toEqual(
      TURNS.map((turn, i) => [chunkIds[i], i, turn.speaker, turn.at]),
    );
    expect(timeline.chunks[0]!.started_at).toBe(new Date(Date.parse(createdAt)).toISOString());
    expect(timeline.chunks[2]!.started_at).toBe(new Date(Date.parse(createdAt) + 20_000).toISOString());
  });

  it('gives every turn its speaker, in time order, and sums each speaker', () => {
    const turns = TURNS.map((turn, i) => ({
      speaker: turn.speaker,
      text: lower(
        timeline.segments
          .filter((s) => s.chunk_id === chunkIds[i])
          .map((s) => s.text)
          .join(' '),
      ),
    }));
    expect(turns).toEqual(TURNS.map((turn) => ({ speaker: turn.speaker, text: turn.spoken })));
    for (const segment of timeline.segments) {
      const turn = TURNS[chunkIds.indexOf(segment.chunk_id)]!;
      expect(segment.speaker).toBe(turn.speaker);
      expect(segment.start).toBeGreaterThanOrEqual(turn.at);
    }
    const starts = timeline.segments.map((s) => s.start);
    expect(starts).toEqual([...starts].sort((a, b) => a - b));
    expect(timeline.speakers.map((s) => s.speaker)).toEqual(['interviewer', 'candidate']);
    expect(timeline.speakers.map((s) => s.words)).toEqual([5, 9]);
  });

  it('names the speaker on every line of txt and every cue of srt and vtt', async () => {
    const txt = await call('GET', `/sessions/${SESSION}/transcript?format=txt`);
    const lines = txt.text.trim().split('\n');
    expect(lines).toHaveLength(timeline.segments.length);
    for (const [i, line] of lines.entries())
      expect(line).toMatch(new RegExp(`^\\[\\d{2}:\\d{2}:\\d{2}\\] ${timeline.segments[i]!.speaker}: `));
    const srt = await call('GET', `/sessions/${SESSION}/transcript?format=srt`);
    const cues = parseSync(srt.text).filter((node): node is NodeCue => node.type === 'cue');
    expect(cues.map((cue) => cue.data.text)).toEqual(timeline.segments.map((s) => `${s.speaker}: ${s.text}`));
    const vtt = await call('GET', `/sessions/${SESSION}/transcript?format=vtt`);
    const voices = parseSync(vtt.text).filter((node): node is NodeCue => node.type === 'cue');
    expect(voices.map((cue) => cue.data.text)).toEqual(timeline.segments.map((s) => `<v ${s.speaker}>${s.text}`));
  });

  it('answers speaker and started_at from GET /transcript', async () => {
    const read = await call('GET', `/transcript/${SESSION}/${chunkIds[1]}`);
    expect(read.status).toBe(200);
    expect(read.json.data).toMatchObject({
      speaker: 'candidate',
      started_at: new Date(Date.parse(createdAt) + 5000).toISOString(),
    });
  });

  it('finds a phrase by speaker, at its offset', async () => {
    const found = await call('GET', `/search/transcripts?q=spades&speaker=candidate&session_id=${SESSION}`);
    expect(found.status).toBe(200);
    expect(found.json.data.results).toEqual([expect.objectContaining({ chunk_id: chunkIds[1], speaker: 'candidate', offset: 5 })]);
    const none = await call('GET', `/search/transcripts?q=spades&speaker=interviewer&session_id=${SESSION}`);
    expect(none.json.data.results).toEqual([]);
  });
});
