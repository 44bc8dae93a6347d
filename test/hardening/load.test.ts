/**
 * Load with nothing lost: 50 concurrent uploads across 10 sessions, with code and
 * execution rows, snapshot triggers and scheduled runs fired in between, against the in-process local
 * stack (PGlite, the directory store, pocketsphinx). Afterwards every chunk has its row, its audio byte
 * for byte and its transcript; every snapshot file is whole JSON whose rows agree with each other and
 * with the database; and the counts match exactly.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { snapshotIdFromKey } from '../../functions/core/keys';
import { type LocalStack, startLocalStack } from '../../functions/local/stack';
import { readSettings } from '../../functions/settings';
import { realWav, toneWav } from '../support/audio-fixtures';
import { type ApiResponse, request } from '../support/http';

const SESSIONS = 10;
const UPLOADS = 50;
const CODE_ENTRIES = 20;
const EXECUTIONS = 20;
const TRIGGERS = 8;
const SCHEDULED_RUNS = 5;

/**
 * The first chunk of each session is real speech (the shortest card readings of pocketsphinx-testdata),
 * the rest short tones of different lengths: every chunk is recognized and gets its transcript file, and
 * two cores are not spent decoding fifty seconds of speech (accuracy is tested elsewhere).
 */
const SPEECH = ['cards/001.wav', 'cards/003.wav'].map((name) => realWav(name));
const clipFor = (index: number): { clip: Buffer; speech: boolean } =>
  index < SESSIONS
    ? { clip: SPEECH[index % SPEECH.length]!, speech: true }
    : { clip: toneWav({ seconds: 0.2 + (index % 7) * 0.05 }), speech: false };
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

let stack: LocalStack;
let dataDir: string;
const sessionIds = Array.from({ length: SESSIONS }, (_, index) => `load-${index}`);
const uploads: { session: string; clip: Buffer; speech: boolean; response: ApiResponse }[] = [];
const triggerStatuses: number[] = [];

const call = (method: string, path: string, init?: Parameters<typeof request>[3]) => request(stack.url, method, path, init);

const count = async (table: string) =>
  Number((await stack.dependencies.sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`))[0]!.n);

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'interview-ops-load-'));
  // Scheduled runs are fired by the test (scheduler.tick runs the real handler with a ScheduledEvent), in between the uploads.
  stack = await startLocalStack(readSettings({ PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'SILENT', SNAPSHOT_INTERVAL_SECONDS: '3600' }));
  for (const session of sessionIds) expect((await call('POST', '/sessions', { json: { session_id: session } })).status).toBe(201);
});

afterAll(async () => {
  await stack?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe(`${UPLOADS} concurrent uploads across ${SESSIONS} sessions, with snapshots in between`, () => {
  it('answers every request: uploads and rows 201, triggers 201 (or 409 for a second already taken), scheduled runs done', async () => {
    const work: Promise<unknown>[] = [];
    for (let index = 0; index < UPLOADS; index += 1) {
      const session = sessionIds[index % SESSIONS]!;
      const { clip, speech } = clipFor(index);
      work.push(
        call('POST', `/sessions/${session}/audio_chunks`, { body: clip, headers: { 'content-type': 'audio/wav' } }).then((response) =>
          uploads.push({ session, clip, speech, response }),
        ),
      );
      if (index % 2 === 0 && index / 2 < CODE_ENTRIES) {
        work.push(
          call('POST', `/sessions/${session}/code_history`, { json: { code: `print(${index})`, language: 'python' } }).then(
            async (code) => {
              expect(code.status).toBe(201);
              const executed = await call('POST', `/sessions/${session}/execution_results`, {
                json: { code_history_id: code.json.data.id, stdout: `${index}\n`, exit_code: 0 },
              });
              expect(executed.status).toBe(201);
            },
          ),
        );
      }
    }
    // While those are in flight: triggers and scheduled runs (the real handler, via the scheduler) in turn.
    let loadDone = false;
    const load = Promise.all(work).finally(() => (loadDone = true));
    let triggers = 0;
    let scheduledRuns = 0;
    while (!loadDone || triggers < TRIGGERS || scheduledRuns < SCHEDULED_RUNS) {
      if (triggers < TRIGGERS || !loadDone) {
        triggerStatuses.push((await call('POST', '/sandbox_snapshot/trigger')).status);
        triggers += 1;
      }
      await new Promise((resolve) => setTimeout(resolve, 150));
      if (scheduledRuns < SCHEDULED_RUNS || !loadDone) {
        await stack.scheduler.tick();
        scheduledRuns += 1;
      }
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    await load;

    expect(uploads).toHaveLength(UPLOADS);
    for (const { response } of uploads) expect(response.status, response.text).toBe(201);
    expect(new Set(uploads.map(({ response }) => response.json.data.chunk_id)).size).toBe(UPLOADS);
    expect(triggerStatuses.length).toBeGreaterThanOrEqual(TRIGGERS);
    for (const status of triggerStatuses) expect([201, 409]).toContain(status);
    expect(triggerStatuses).toContain(201);
  });

  // Fifty recognitions one after another, on two cores shared with other test files.
  it('loses nothing: exact counts, every chunk with its row, its audio byte for byte and its transcript', {
    timeout: 240_000,
  }, async () => {
    await stack.settle();
    expect(await count('sessions')).toBe(SESSIONS);
    expect(await count('audio_chunks')).toBe(UPLOADS);
    expect(await count('code_history')).toBe(CODE_ENTRIES);
    expect(await count('execution_results')).toBe(EXECUTIONS);

    const rows = await stack.dependencies.sql.query<{
      chunk_id: string;
      session_id: string;
      audio_key: string;
      size_bytes: number;
      transcript_status: string;
    }>('SELECT chunk_id::text AS chunk_id, session_id, audio_key, size_bytes, transcript_status FROM audio_chunks');
    const audioFiles = (await readdir(join(dataDir, 'audio'), { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile());
    expect(audioFiles).toHaveLength(UPLOADS);
    const transcriptFiles = (await readdir(join(dataDir, 'transcripts'), { recursive: true, withFileTypes: true })).filter((entry) =>
      entry.isFile(),
    );
    expect(transcriptFiles).toHaveLength(UPLOADS);

    for (const { session, clip, speech, response } of uploads) {
      const chunkId = response.json.data.chunk_id as string;
      const row = rows.find((candidate) => candidate.chunk_id === chunkId);
      expect(row, `chunk ${chunkId}`).toMatchObject({ session_id: session, size_bytes: clip.length, transcript_status: 'done' });
      expect(sha256(await readFile(join(dataDir, row!.audio_key))), `audio of chunk ${chunkId}`).toBe(sha256(clip));
      const transcript = await readFile(join(dataDir, `transcripts/${session}/${session}_${chunkId}.txt`), 'utf8');
      if (speech) expect(transcript.trim().length, `transcript of chunk ${chunkId}`).toBeGreaterThan(0);
    }
    for (const session of sessionIds) {
      const listed = await call('GET', `/transcripts/${session}`);
      expect(listed.json.data.total_count, session).toBe(UPLOADS / SESSIONS);
    }
  });

  it('writes every snapshot whole and consistent, and a final one with exactly everything', async () => {
    // A new second, so the final trigger cannot meet a snapshot of the second the load ended in.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const final = await call('POST', '/sandbox_snapshot/trigger');
    expect(final.status).toBe(201);
    expect(final.json.data.metadata).toMatchObject({
      total_sessions: SESSIONS,
      total_audio_chunks: UPLOADS,
      total_code_entries: CODE_ENTRIES,
      total_executions: EXECUTIONS,
    });
    expect(final.json.data.data.audio_chunks.every((chunk: { transcript_status: string }) => chunk.transcript_status === 'done')).toBe(
      true,
    );

    const finalRows = new Map<string, string>(
      (final.json.data.data.audio_chunks as { chunk_id: string; audio_key: string }[]).map((chunk) => [chunk.chunk_id, chunk.audio_key]),
    );
    const names = (await readdir(join(dataDir, 'snapshots'))).sort();
    // The triggers that got 201, the scheduled runs and the final one; a 409 wrote nothing.
    expect(names.length).toBeGreaterThanOrEqual(triggerStatuses.filter((status) => status === 201).length + 1);
    expect((await call('GET', '/sandbox_snapshots')).json.data.total_count).toBe(names.length);
    expect(await readdir(join(dataDir, '.tmp'))).toEqual([]);

    for (const name of names) {
      // Each file is a manifest naming segment pieces: read the state it gives through the API.
      const id = snapshotIdFromKey(`snapshots/${name}`);
      const answer = await call('GET', `/sandbox_snapshot/${id}`);
      expect(answer.status, name).toBe(200);
      const document = answer.json.data;
      const { data, metadata } = document;
      expect(document.snapshot_id, name).toBe(id);
      expect([data.sessions.length, data.audio_chunks.length, data.code_history.length, data.execution_results.length], name).toEqual([
        metadata.total_sessions,
        metadata.total_audio_chunks,
        metadata.total_code_entries,
        metadata.total_executions,
      ]);
      // One point in time: every row's parent is in the same snapshot.
      const sessions = new Set(data.sessions.map((row: { session_id: string }) => row.session_id));
      const codeIds = new Set(data.code_history.map((row: { id: string }) => row.id));
      for (const chunk of data.audio_chunks) expect(sessions.has(chunk.session_id), `${name}: chunk ${chunk.chunk_id}`).toBe(true);
      for (const entry of data.code_history) expect(sessions.has(entry.session_id), `${name}: code ${entry.id}`).toBe(true);
      for (const result of data.execution_results)
        expect(codeIds.has(result.code_history_id), `${name}: execution ${result.id}`).toBe(true);
      // And every chunk in it is one the database still holds, unchanged.
      for (const chunk of data.audio_chunks)
        expect(finalRows.get(chunk.chunk_id), `${name}: chunk ${chunk.chunk_id}`).toBe(chunk.audio_key);
    }
  });
});
