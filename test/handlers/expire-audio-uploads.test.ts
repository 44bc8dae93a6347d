/**
 * The housekeeping handler as the schedule calls it, wired by functions/config.ts to PGlite and a data
 * directory: a reservation past its URL's expiry and the grace, whose audio never came, is removed; a
 * fresh one and one whose audio is there stay.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ScheduledEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dependencies } from '../../functions/core/dependencies';
import { localLambdaContext } from '../../functions/local/lambda-context';
import { scheduledEvent } from '../../functions/local/scheduler';
import { newDataDir, removeDataDir } from '../support/local-stack-process';

let dataDir: string;
let deps: Dependencies;
let invoke: () => Promise<{ expired: string[]; awaitingArrival: string[] }>;

const reserve = async (chunkId: string, expiresAt: string) => {
  await deps.sql.query(
    `INSERT INTO audio_uploads (chunk_id, session_id, content_type, audio_key, size_bytes, expires_at)
     VALUES (CAST(:chunk_id AS bigint), 'sweep', 'audio/wav', :key, 100, CAST(:expires_at AS timestamptz))`,
    { chunk_id: chunkId, key: `audio/sweep/${chunkId}.wav`, expires_at: expiresAt },
  );
};

beforeAll(async () => {
  dataDir = await newDataDir('expire-audio-uploads');
  Object.assign(process.env, { DATA_DIR: dataDir, LOG_LEVEL: 'SILENT', TRANSCRIBER: 'aws-transcribe' });
  const { handler } = await import('../../functions/handlers/expire-audio-uploads');
  const config = await import('../../functions/config');
  deps = await config.dependencies();
  invoke = () =>
    handler(
      scheduledEvent(new Date(), 'expire-audio-uploads') as ScheduledEvent,
      localLambdaContext('expire-audio-uploads', 60_000),
    ) as Promise<{
      expired: string[];
      awaitingArrival: string[];
    }>;
  await deps.sql.query("INSERT INTO sessions (session_id) VALUES ('sweep')");
});

afterAll(async () => {
  await deps?.sql.close();
  if (dataDir) await removeDataDir(dataDir);
});

describe('expire-audio-uploads', () => {
  it('removes only the reservations long expired whose audio never came', async () => {
    const hoursAgo = (hours: number) => new Date(Date.now() - hours * 3600_000).toISOString();
    await reserve('9001', hoursAgo(3));
    await reserve('9002', hoursAgo(3));
    await reserve('9003', hoursAgo(0.5));
    await mkdir(join(dataDir, 'audio/sweep'), { recursive: true });
    await writeFile(join(dataDir, 'audio/sweep/9002.wav'), 'arrived');
    const report = await invoke();
    expect(report).toEqual({ expired: ['9001'], awaitingArrival: ['9002'] });
    const left = await deps.sql.query<{ chunk_id: string }>('SELECT chunk_id::text AS chunk_id FROM audio_uploads ORDER BY chunk_id');
    expect(left.map((row) => row.chunk_id)).toEqual(['9002', '9003']);
  });
});
