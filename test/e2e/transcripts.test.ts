/**
 * The transcript routes over real HTTP against the target with its real recognizer: `npm start`
 * (bin/local.ts, pocketsphinx) or, with TARGET=twin, the twin of what `cdk deploy` ships (Amazon
 * Transcribe's stand-in, which runs at real time): automatic transcripts on insert, on-demand generation,
 * reading and listing, and every refusal. A chunk whose audio was removed from the data directory is
 * test/local/transcripts-gone-audio.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realWav, toneWav } from '../support/audio-fixtures';
import { type ApiResponse, expectRefusal } from '../support/http';
import { keyOf, startTarget, TARGET_START_TIMEOUT_MS, type Target, targetKind } from '../support/target';

let target: Target;
const call: Target['request'] = (method, path, init) => target.request(method, path, init);
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * What each target's engine makes of the same recognized words. Both recognize with pocketsphinx; Amazon
 * Transcribe (and so its stand-in) capitalizes the first word and ends with a full stop, and reports the
 * language code it was given.
 */
const ENGINE =
  targetKind() === 'twin'
    ? {
        engine: 'aws-transcribe',
        language: 'en-US',
        words: (spoken: string) => spoken.split(' ').map((word, i) => (i === 0 ? word[0]!.toUpperCase() + word.slice(1) : word)),
        text: (spoken: string) => `${spoken[0]!.toUpperCase()}${spoken.slice(1)}.`,
      }
    : { engine: 'pocketsphinx', language: 'en', words: (spoken: string) => spoken.split(' '), text: (spoken: string) => spoken };

/** Transcription runs at real time on the twin, after a possible cold start: polls wait this long. */
const POLL = { timeout: 60_000, interval: 250 };
/** For a test that polls: longer than POLL, so the poll's own message is what a failure shows. */
const POLLING_TEST = { timeout: 90_000 };

const upload = async (sessionId: string, bytes: Uint8Array, contentType = 'audio/wav') => {
  const response = await call('POST', `/sessions/${sessionId}/audio_chunks`, { body: bytes, headers: { 'content-type': contentType } });
  expect(response.status).toBe(201);
  return response.json.data as { chunk_id: string; transcript_status: string };
};

/** Polls GET /transcript until the automatic transcript is there (the upload answers before it runs). */
const awaitTranscript = async (sessionId: string, chunkId: string): Promise<ApiResponse> => {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const response = await call('GET', `/transcript/${sessionId}/${chunkId}`);
    if (response.status === 200 || Date.now() > deadline) return response;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
};

/** The stored text a file_path names; fails the test when it is absent. */
const textAt = async (filePath: string) => {
  const bytes = await target.readObject(filePath);
  expect(bytes, filePath).toBeDefined();
  return bytes!.toString('utf8');
};

beforeAll(async () => {
  target = await startTarget();
  for (const session_id of ['interview-7', 'other-session', 'empty-session']) {
    expect((await call('POST', '/sessions', { json: { session_id } })).status).toBe(201);
  }
}, TARGET_START_TIMEOUT_MS);

afterAll(async () => {
  await target?.stop();
});

describe('transcript on insert', () => {
  let chunkId: string;

  it('answers the upload at once (pending) and writes the transcript file after it', { timeout: 120_000 }, async () => {
    const chunk = await upload('interview-7', realWav('cards/004.wav'));
    chunkId = chunk.chunk_id;
    expect(chunk.transcript_status).toBe('pending');

    const found = await awaitTranscript('interview-7', chunkId);
    expect(found.status).toBe(200);
    expect(found.json.message).toBe('Transcript file found');
    const data = found.json.data;
    // The seed's fields, and what POST /process_chunk answered, read back from the stored files.
    expect(Object.keys(data).sort()).toEqual([
      'confidence',
      'created_at',
      'duration',
      'exists',
      'file_path',
      'file_size',
      'filename',
      'language',
      'modified_at',
      'speaker',
      'started_at',
      'transcript',
      'words',
    ]);
    expect(data).toMatchObject({ filename: `interview-7_${chunkId}.txt`, exists: true });
    expect(keyOf(data.file_path)).toBe(`transcripts/interview-7/interview-7_${chunkId}.txt`);
    expect(data.created_at).toMatch(ISO_UTC);
    expect(data.modified_at).toMatch(ISO_UTC);
    const text = await textAt(data.file_path);
    expect(text).toBe(ENGINE.text('five five'));
    expect(data.file_size).toBe(Buffer.byteLength(text));
    expect(data).toMatchObject({ transcript: text, language: ENGINE.language, duration: 24864 / 16000, speaker: null, started_at: null });
  });

  it('keeps confidence, language, duration, time and word timings beside the text', POLLING_TEST, async () => {
    // The details are written just after the text, which GET /transcript already serves.
    const key = `transcript-details/interview-7/interview-7_${chunkId}.json`;
    await expect.poll(async () => (await target.readKey(key)) !== undefined, POLL).toBe(true);
    const details = JSON.parse((await target.readKey(key))!.toString('utf8'));
    expect(details).toMatchObject({
      session_id: 'interview-7',
      chunk_id: chunkId,
      transcript: ENGINE.text('five five'),
      language: ENGINE.language,
      engine: ENGINE.engine,
    });
    expect(details.duration).toBe(24864 / 16000);
    expect(details.created_at).toMatch(ISO_UTC);
    expect(details.words.map((word: { word: string }) => word.word)).toEqual(ENGINE.words('five five'));
    expect(details.confidence).toBeGreaterThan(0);
    expect(details.confidence).toBeLessThanOrEqual(1);
  });

  it('logs the automatic transcription with the chunk and session ids', POLLING_TEST, async () => {
    // The line is written after the transcript is stored and travels through the process's stdout, so it
    // can arrive after the transcript is already served.
    await expect
      .poll(
        () =>
          target.logs.some(
            (entry) => entry.message === 'Transcribed audio chunk' && entry.chunk_id === chunkId && entry.session_id === 'interview-7',
          ),
        POLL,
      )
      .toBe(true);
  });
});

describe('POST /process_chunk/{chunk_id}', () => {
  let chunkId: string;

  beforeAll(async () => {
    chunkId = (await upload('interview-7', realWav('cards/003.wav'))).chunk_id;
    await awaitTranscript('interview-7', chunkId);
  }, 120_000);

  it('generates the transcript in the seed shape, reading the session from the chunk when none is given', async () => {
    const response = await call('POST', `/process_chunk/${chunkId}`);
    expect(response.status).toBe(200);
    expect(response.json.success).toBe(true);
    expect(response.json.message).toBe('Transcript generated successfully');
    const data = response.json.data;
    expect(Object.keys(data).sort()).toEqual(
      [
        'chunk_id',
        'confidence',
        'created_at',
        'duration',
        'file_path',
        'file_size',
        'filename',
        'language',
        'session_id',
        'success',
        'transcript',
      ].sort(),
    );
    expect(data).toMatchObject({
      success: true,
      chunk_id: chunkId,
      session_id: 'interview-7',
      filename: `interview-7_${chunkId}.txt`,
      transcript: ENGINE.text('seven of clubs'),
      language: ENGINE.language,
      duration: 24611 / 16000,
    });
    expect(keyOf(data.file_path)).toBe(`transcripts/interview-7/interview-7_${chunkId}.txt`);
    expect(data.confidence).toBeGreaterThan(0);
    expect(data.confidence).toBeLessThanOrEqual(1);
    expect(data.created_at).toMatch(ISO_UTC);
    expect(data.file_size).toBe(Buffer.byteLength(data.transcript));
    expect(await textAt(data.file_path)).toBe(data.transcript);
  });

  it("accepts the chunk's own session_id", async () => {
    const response = await call('POST', `/process_chunk/${chunkId}?session_id=interview-7`);
    expect(response.status).toBe(200);
    expect(response.json.data.session_id).toBe('interview-7');
  });

  it('answers 404 for a session that is not the chunk, exactly as for a chunk that does not exist', async () => {
    const wrongSession = await call('POST', `/process_chunk/${chunkId}?session_id=other-session`);
    expectRefusal(wrongSession, 404);
    expect(wrongSession.text).not.toContain('interview-7');
    const unknown = await call('POST', `/process_chunk/987654321?session_id=other-session`);
    expectRefusal(unknown, 404);
    expect(wrongSession.json.message).toBe(unknown.json.message);
    expectRefusal(await call('POST', '/process_chunk/987654321'), 404);
  });

  it.each([
    ['a chunk id that is not a number', '/process_chunk/abc'],
    ['a session id that is not one', '/process_chunk/1?session_id=..%2Fetc'],
    ['an empty session id', '/process_chunk/1?session_id='],
  ])('answers 400 for %s', async (_label, path) => {
    expectRefusal(await call('POST', path), 400);
  });
});

describe('GET /transcript/{session_id}/{chunk_id}', () => {
  it('answers 404 for a chunk with no transcript', async () => {
    expectRefusal(await call('GET', '/transcript/interview-7/424242'), 404);
  });

  it('answers 400 for malformed ids', async () => {
    expectRefusal(await call('GET', '/transcript/interview-7/x1'), 400);
    expectRefusal(await call('GET', '/transcript/-bad/1'), 400);
  });
});

describe('GET /transcripts/{session_id}', () => {
  it('lists every transcript file of the session in chunk order, in the seed shape', async () => {
    const response = await call('GET', '/transcripts/interview-7');
    expect(response.status).toBe(200);
    const { transcripts, total_count, session_id } = response.json.data;
    expect(session_id).toBe('interview-7');
    expect(total_count).toBe(transcripts.length);
    expect(total_count).toBeGreaterThanOrEqual(2);
    expect(response.json.message).toBe(`Found ${total_count} transcript files`);
    const chunkNumbers = transcripts.map((file: { filename: string }) => Number(/_(\d+)\.txt$/.exec(file.filename)![1]));
    expect(chunkNumbers).toEqual([...chunkNumbers].sort((a, b) => a - b));
    for (const file of transcripts) {
      // The seed's fields, and the chunk's track (docs/audio-uploads.md).
      expect(Object.keys(file).sort()).toEqual([
        'created_at',
        'file_path',
        'file_size',
        'filename',
        'modified_at',
        'sequence',
        'speaker',
        'started_at',
      ]);
      expect(file.file_size).toBe(Buffer.byteLength(await textAt(file.file_path)));
      expect(file.modified_at).toMatch(ISO_UTC);
      const single = await call('GET', `/transcript/interview-7/${/_(\d+)\.txt$/.exec(file.filename)![1]}`);
      const { sequence: _sequence, ...fileFields } = file;
      expect(single.json.data).toMatchObject({ ...fileFields, exists: true });
    }
  });

  it('answers an empty list for a session without transcripts, and 404 for an unknown session', async () => {
    const empty = await call('GET', '/transcripts/empty-session');
    expect(empty.status).toBe(200);
    expect(empty.json).toEqual({
      success: true,
      message: 'Found 0 transcript files',
      data: { session_id: 'empty-session', transcripts: [], total_count: 0 },
    });
    expectRefusal(await call('GET', '/transcripts/no-such-session'), 404);
  });
});

describe('bad audio', () => {
  const riff = realWav('cards/001.wav');
  it.each([
    ['a truncated header', riff.subarray(0, 24)],
    ['a zero-length body', new Uint8Array(0)],
    ['8-bit samples (unsupported)', toneWav({ bitDepth: '8' })],
    ['a truncated data chunk', riff.subarray(0, 2000)],
  ])('is refused with 400 for %s, never a 500', async (_label, bytes) => {
    const response = await call('POST', '/sessions/other-session/audio_chunks', { body: bytes, headers: { 'content-type': 'audio/wav' } });
    expectRefusal(response, 400);
  });
});
