/**
 * The disk fills up while an upload is written: `npm start` with DATA_DIR on a small tmpfs (PostgreSQL
 * elsewhere), and a filler file that leaves from nothing to a little more than one chunk free. For every
 * amount of space an upload either succeeds whole (row, audio of the right size) or is refused in the
 * envelope with nothing left behind: no row, no audio, no metadata, no temporary file. Transcripts and
 * snapshots that meet the full disk fail retriably, and everything is retried once space is back.
 */
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPgSql } from '../../functions/adapters/sql/pg';
import type { Sql } from '../../functions/core/ports/sql';
import { toneWav } from '../support/audio-fixtures';
import { request } from '../support/http';
import { type StackProcess, startStackProcess } from '../support/local-stack-process';
import { type PostgresServer, startPostgresServer } from '../support/postgres-server';
import { sendRaw } from './support/raw-http';
import { expectSafeAnswer } from './support/safe-answer';
import { canMountSmallDisk, mountSmallDisk, type SmallDisk } from './support/small-disk';

const mountable = await canMountSmallDisk();
const PAGE = 4096;
const SESSION = 'disk-full';
const AUDIO = toneWav({ seconds: 1 });

let root: string;
let disk: SmallDisk;
let postgres: PostgresServer;
let sql: Sql;
let stack: StackProcess;

interface ChunkRow {
  chunk_id: string;
  audio_key: string;
  size_bytes: number;
  transcript_status: string;
}

const chunkRows = () =>
  sql.query<ChunkRow & Record<string, unknown>>(
    'SELECT chunk_id::text AS chunk_id, audio_key, size_bytes, transcript_status, transcript_error FROM audio_chunks ORDER BY chunk_id',
  );

/** A chunk whose transcription ran and failed in a way a retry may cure stays pending, with the error. */
const awaitsFirstRun = (row: Record<string, unknown>) =>
  row.transcript_status === 'processing' || (row.transcript_status === 'pending' && !row.transcript_error);

/** Every file under DATA_DIR but the filler, by path. */
const filesOnDisk = async (): Promise<string[]> =>
  (await readdir(disk.path, { recursive: true, withFileTypes: true }))
    .filter((entry) => entry.isFile() && entry.name !== '.filler')
    .map((entry) => join(entry.parentPath, entry.name).slice(disk.path.length + 1))
    .sort();

/** Waits until every chunk's transcription has run once, so nothing writes while the filler changes. */
const settled = async () => {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && (await chunkRows()).some(awaitsFirstRun)) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return chunkRows();
};

const upload = () =>
  sendRaw(stack.url, {
    method: 'POST',
    target: `/sessions/${SESSION}/audio_chunks`,
    headers: { 'content-type': 'audio/wav' },
    body: AUDIO,
  });

beforeAll(async () => {
  if (!mountable) return;
  root = await mkdtemp(join(tmpdir(), 'interview-ops-disk-full-'));
  disk = await mountSmallDisk(root, 2 * 1024 * 1024);
  postgres = await startPostgresServer();
  sql = await openPgSql(postgres.url, { maxConnections: 2 });
  stack = await startStackProcess({ dataDir: disk.path, env: { DATABASE_URL: postgres.url, SNAPSHOT_INTERVAL_SECONDS: '3600' } });
  expect((await request(stack.url, 'POST', '/sessions', { json: { session_id: SESSION } })).status).toBe(201);
});

afterAll(async () => {
  await stack?.stop();
  await sql?.close();
  await postgres?.stop();
  await disk?.unmount();
  if (root) await rm(root, { recursive: true, force: true });
});

describe.skipIf(!mountable)('a disk that fills up (tmpfs; needs root)', () => {
  it('writes each upload whole or refuses it in the envelope with nothing left behind, for every amount of free space', async () => {
    const outcomes: number[] = [];
    for (let pages = 0; pages <= Math.ceil(AUDIO.length / PAGE) + 4; pages += 1) {
      await disk.leaveFree(pages * PAGE);
      const rowsBefore = await chunkRows();
      const filesBefore = await filesOnDisk();
      const response = await upload();
      const target = `${SESSION} upload with ${pages} pages free`;
      expectSafeAnswer(response, { method: 'POST', target, alsoAllowed: [503] });
      outcomes.push(response.status);
      const rows = await settled();
      if (response.status === 201) {
        const { chunk_id: chunkId } = response.json.data;
        const row = rows.find((candidate) => candidate.chunk_id === chunkId);
        expect(row, target).toBeDefined();
        expect((await stat(join(disk.path, row!.audio_key))).size, target).toBe(AUDIO.length);
        expect(await readFile(join(disk.path, row!.audio_key)), target).toEqual(AUDIO);
      } else {
        expect(response.status, `${target}: ${response.text}`).toBe(503);
        expect(
          rows.map((row) => row.chunk_id),
          target,
        ).toEqual(rowsBefore.map((row) => row.chunk_id));
        // The transcripts of earlier chunks may have been written meanwhile; no audio, metadata or temporary file may be.
        const added = (await filesOnDisk()).filter((path) => !filesBefore.includes(path));
        expect(
          added.filter((path) => !/^(\.meta\/)?transcript(s|-details)\//.test(path)),
          target,
        ).toEqual([]);
      }
      expect(
        (await filesOnDisk()).filter((path) => path.startsWith('.tmp/')),
        target,
      ).toEqual([]);
    }
    // The sweep went from refusals to successes.
    expect(outcomes[0]).toBe(503);
    expect(outcomes.at(-1)).toBe(201);
  });

  it('refuses a snapshot that does not fit, leaving no partial file', async () => {
    await disk.leaveFree(0);
    const response = await sendRaw(stack.url, { method: 'POST', target: '/sandbox_snapshot/trigger', headers: {} });
    expectSafeAnswer(response, { method: 'POST', target: '/sandbox_snapshot/trigger', alsoAllowed: [503] });
    expect(response.status).toBe(503);
    expect((await filesOnDisk()).filter((path) => /^(\.tmp|snapshots|\.meta\/snapshots)\//.test(path))).toEqual([]);
  });

  it('once space is back: every chunk has its row, its whole audio and, retried where it failed, its transcript', async () => {
    await disk.leaveFree(1024 * 1024);
    const snapshot = await request(stack.url, 'POST', '/sandbox_snapshot/trigger');
    expect(snapshot.status).toBe(201);

    for (const row of await settled()) {
      if (row.transcript_status !== 'done') {
        // A full disk may free up: the chunk is left retriable (pending with its error), never lost.
        expect(['failed', 'pending']).toContain(row.transcript_status);
        expect(row.transcript_error).toBeTruthy();
        const retried = await request(stack.url, 'POST', `/process_chunk/${row.chunk_id}`);
        expect(retried.status, `retry of chunk ${row.chunk_id}`).toBe(200);
      }
    }
    const rows = await chunkRows();
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((row) => row.transcript_status === 'done')).toBe(true);
    const files = await filesOnDisk();
    const audio = files.filter((path) => path.startsWith('audio/'));
    expect(audio.sort()).toEqual(rows.map((row) => row.audio_key).sort());
    for (const row of rows) {
      expect((await stat(join(disk.path, row.audio_key))).size).toBe(row.size_bytes);
      expect(files).toContain(`transcripts/${SESSION}/${SESSION}_${row.chunk_id}.txt`);
    }
  });
});
