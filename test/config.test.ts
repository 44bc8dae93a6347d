/** The wiring module picks adapters from settings alone; no network, no AWS. */
import { describe, expect, it } from 'vitest';
import { deferredObjectStore, deferredSql } from '../functions/adapters/deferred-ports';
import { retentionSettingsFor, runsMigrationsAtStart, transcriberEngineFor } from '../functions/config';
import type { ObjectStore } from '../functions/core/ports/object-store';
import type { Sql } from '../functions/core/ports/sql';
import { readSettings } from '../functions/settings';

describe('wiring', () => {
  it('opens a deferred adapter once, on first use, and again after a failed open', async () => {
    let opens = 0;
    const sql = deferredSql(async () => {
      opens += 1;
      if (opens === 1) throw new Error('cluster resuming');
      return {
        query: async () => [{ ok: opens }],
        transaction: async (work) => work({ query: async () => [] }),
        close: async () => undefined,
      } as Sql;
    });
    expect(opens).toBe(0);
    await expect(sql.query('SELECT 1')).rejects.toThrow('cluster resuming');
    expect(await sql.query('SELECT 1')).toEqual([{ ok: 2 }]);
    expect(await sql.query('SELECT 1')).toEqual([{ ok: 2 }]);
    expect(opens).toBe(2);
  });

  it('passes tag writes through a deferred object store, which holds re-tag through', async () => {
    const tagged: [string, Record<string, string>][] = [];
    const inner = { setTags: async (key: string, tags: Record<string, string>) => void tagged.push([key, tags]) } as unknown as ObjectStore;
    const store = deferredObjectStore(
      (key) => key,
      async () => inner,
    );
    await store.setTags!('audio/s/1.wav', { retention: 'held' });
    expect(tagged).toEqual([['audio/s/1.wav', { retention: 'held' }]]);
  });

  it('uses pocketsphinx and migrates at start locally, Transcribe and the deploy trigger on Lambda', () => {
    const local = readSettings({});
    expect(transcriberEngineFor(local)).toBe('pocketsphinx');
    expect(runsMigrationsAtStart(local)).toBe(true);
    const lambda = readSettings({ AWS_LAMBDA_FUNCTION_NAME: 'fn' });
    expect(transcriberEngineFor(lambda)).toBe('aws-transcribe');
    expect(runsMigrationsAtStart(lambda)).toBe(false);
    expect(transcriberEngineFor(readSettings({ AWS_LAMBDA_FUNCTION_NAME: 'fn', TRANSCRIBER: 'pocketsphinx' }))).toBe('pocketsphinx');
  });

  it('keeps data until erased by default; the sweep expires objects locally, the bucket on S3', () => {
    expect(retentionSettingsFor(readSettings({}))).toEqual({ objectsExpiredBy: 'sweep' });
    expect(
      retentionSettingsFor(
        readSettings({ AUDIO_RETENTION_DAYS: '30', TRANSCRIPT_RETENTION_DAYS: '90', SESSION_RETENTION_DAYS: '365', BUCKET_NAME: 'b' }),
      ),
    ).toEqual({ audioDays: 30, transcriptDays: 90, sessionDays: 365, objectsExpiredBy: 'bucket-lifecycle' });
    expect(() => readSettings({ SESSION_RETENTION_DAYS: '0' })).toThrow(/SESSION_RETENTION_DAYS/);
  });

  it('refuses bad settings with a message naming each one', () => {
    expect(() => readSettings({ PORT: 'eighty', SNAPSHOT_INTERVAL_SECONDS: '-1' })).toThrow(/PORT: .*; SNAPSHOT_INTERVAL_SECONDS: /);
  });

  it('takes CORS_ORIGINS as origins or *, and refuses a URL with a path or * among others', () => {
    expect(readSettings({ CORS_ORIGINS: 'https://app.example.com, http://localhost:5173' }).CORS_ORIGINS).toBeDefined();
    expect(() => readSettings({ CORS_ORIGINS: 'https://app.example.com/interviews' })).toThrow(
      /CORS_ORIGINS: https:\/\/app.example.com\/interviews is not an origin/,
    );
    expect(() => readSettings({ CORS_ORIGINS: '*,https://app.example.com' })).toThrow(/CORS_ORIGINS: \* stands alone/);
  });
});
