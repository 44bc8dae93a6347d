/**
 * S3 delivers an ObjectCreated event at least once, so two invocations may complete one direct upload at
 * the same time. On real PostgreSQL (the claim is a row lock PGlite's one connection cannot show): both
 * transactions are let in together, one makes the chunk, the other is a clean no-op, never an error.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadMigrations } from '../../db/migrations';
import { DirectoryObjectStore } from '../../functions/adapters/object-store/directory';
import { openPgSql } from '../../functions/adapters/sql/pg';
import { completeAudioUpload, createAudioUpload } from '../../functions/core/audio-uploads';
import { NO_TRACK } from '../../functions/core/chunk-track';
import type { AudioSettings } from '../../functions/core/dependencies';
import { migrate } from '../../functions/core/migrations';
import type { Sql } from '../../functions/core/ports/sql';
import { createSession } from '../../functions/core/sessions';
import { toneWav } from '../support/audio-fixtures';
import { type PostgresServer, startPostgresServer } from '../support/postgres-server';
import { silentLogger } from '../support/silent-logger';

const SESSION = 'arrival-race';
const audio: AudioSettings = { acceptedFormats: ['wav'], maxBytes: 4 * 1024 * 1024 };

let server: PostgresServer;
let sql: Sql;
let root: string;
let store: DirectoryObjectStore;

/** The same database, whose transactions start only once `parties` of them have been asked for. */
const meetingAtTransactions = (inner: Sql, parties: number): Sql => {
  let waiting: (() => void)[] = [];
  return {
    query: (statement, params) => inner.query(statement, params),
    close: () => inner.close(),
    transaction: async (work, options) => {
      await new Promise<void>((resolve) => {
        waiting.push(resolve);
        if (waiting.length === parties) {
          for (const release of waiting) release();
          waiting = [];
        }
      });
      return inner.transaction(work, options);
    },
  };
};

beforeAll(async () => {
  server = await startPostgresServer();
  sql = await openPgSql(server.url, { maxConnections: 4 });
  await migrate(sql, loadMigrations());
  root = mkdtempSync(join(tmpdir(), 'interview-ops-arrival-race-'));
  store = await new DirectoryObjectStore(root, { uploadBaseUrl: () => 'http://127.0.0.1:1' }).open();
  await createSession({ sql }, { session_id: SESSION });
}, 60_000);

afterAll(async () => {
  await sql?.close();
  await server?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

it('makes one chunk when two deliveries of the arrival complete it at once, and neither fails', async () => {
  const meeting = meetingAtTransactions(sql, 2);
  for (const sequence of [1, 2, 3, 4, 5]) {
    const bytes = toneWav({ seconds: sequence });
    const ticket = await createAudioUpload(
      { sql, store, audio },
      { sessionId: SESSION, contentType: 'audio/wav', sizeBytes: bytes.length, track: { ...NO_TRACK, sequence } },
    );
    if (ticket.outcome !== 'issued') throw new Error('expected a URL');
    const key = `audio/${SESSION}/${ticket.chunk_id}.wav`;
    await store.put(key, bytes, { contentType: 'audio/wav' });

    const deliveries = await Promise.allSettled([
      completeAudioUpload({ sql: meeting, store, audio, logger: silentLogger }, key),
      completeAudioUpload({ sql: meeting, store, audio, logger: silentLogger }, key),
    ]);
    expect(deliveries.map((delivery) => delivery.status)).toEqual(['fulfilled', 'fulfilled']);
    const made = deliveries.flatMap((delivery) => (delivery.status === 'fulfilled' && delivery.value ? [delivery.value] : []));
    expect(made).toHaveLength(1);
    expect(made[0]).toMatchObject({ chunk_id: ticket.chunk_id, sequence, transcript_status: 'pending' });
    const rows = await sql.query('SELECT chunk_id FROM audio_chunks WHERE session_id = :session_id AND sequence = :sequence', {
      session_id: SESSION,
      sequence,
    });
    expect(rows).toHaveLength(1);
    // The loser removed nothing: the winner's chunk keeps its audio.
    expect(await store.head(key)).not.toBeNull();
  }
});
