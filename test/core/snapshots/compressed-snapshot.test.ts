/**
 * Issue 16's storage bound leans on compression: pieces and manifests are stored gzipped, their sizes
 * in the manifest and in `snapshot_size_bytes` stay those of the JSON (the contract's), and a snapshot of
 * the format before compression (plain `segments/1` manifest and `.json` pieces) is still read, built on,
 * and its pieces refreshed into gzipped copies. Real PostgreSQL 15 and the directory store.
 */
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations } from '../../../db/migrations';
import { DirectoryObjectStore } from '../../../functions/adapters/object-store/directory';
import { openPgSql } from '../../../functions/adapters/sql/pg';
import { snapshotIdFor, snapshotKeyFor } from '../../../functions/core/keys';
import { migrate } from '../../../functions/core/migrations';
import type { Sql } from '../../../functions/core/ports/sql';
import { createSession } from '../../../functions/core/sessions';
import { PLAIN_MANIFEST_FORMAT, piecesInOrder, type SnapshotManifest } from '../../../functions/core/snapshots/manifest';
import { getSnapshot, readManifest } from '../../../functions/core/snapshots/read-snapshots';
import { takeSnapshot } from '../../../functions/core/snapshots/take-snapshot';
import { byKey, fullDocument } from '../../support/full-snapshot-read';
import { newDataDir, removeDataDir } from '../../support/local-stack-process';
import { type PostgresServer, startPostgresServer } from '../../support/postgres-server';
import { silentLogger } from '../../support/silent-logger';

let server: PostgresServer;
let sql: Sql;
let dataDir: string;
let store: DirectoryObjectStore;

const deps = (now: Date) => ({ sql, store, logger: silentLogger, clock: { now: () => now } });

/** Code that compresses as code does: varied identifiers, repeated structure. */
const codeOf = (index: number) =>
  Array.from(
    { length: 40 },
    (_, line) => `    result_${index}_${line} = compute(items[${line}], cache.get("k${line * index}"))  # step ${line}`,
  ).join('\n');

const addCode = (sessionId: string, index: number) =>
  sql.query(`INSERT INTO code_history (session_id, code, language) VALUES (:session_id, :code, 'python')`, {
    session_id: sessionId,
    code: codeOf(index),
  });

const take = async (instant: Date, retentionDays?: number) => {
  const outcome = await takeSnapshot(deps(instant), { instant, ...(retentionDays === undefined ? {} : { retentionDays }) });
  if (outcome.status !== 'taken') throw new Error(`snapshot ${outcome.status}`);
  return outcome;
};

/** The state a full read gives now, in key order per table. */
const fullState = async () => {
  const { document } = await sql.transaction((tx) => fullDocument(tx, { timestamp: '', snapshot_id: '' }), {
    isolation: 'repeatable read',
    readOnly: true,
  });
  return document;
};

beforeAll(async () => {
  server = await startPostgresServer();
  sql = await openPgSql(server.url, { maxConnections: 4 });
  await migrate(sql, loadMigrations());
  dataDir = await newDataDir('compressed-snapshot');
  store = await new DirectoryObjectStore(dataDir).open();
  await createSession({ sql }, { session_id: 'zip-1', candidate: 'Grace' });
  for (let index = 0; index < 50; index += 1) await addCode('zip-1', index);
});

afterAll(async () => {
  await sql?.close();
  await server?.stop();
  if (dataDir) await removeDataDir(dataDir);
});

describe('compressed snapshots', () => {
  let first: SnapshotManifest;

  it('stores the manifest and every piece gzipped, with the JSON sizes in the manifest and metadata', async () => {
    const instant = new Date(Date.UTC(2031, 4, 1, 12, 0, 0));
    const outcome = await take(instant);
    const stored = await store.get(outcome.key);
    const manifest = JSON.parse(gunzipSync(stored!.body).toString('utf8')) as SnapshotManifest;
    expect(manifest.format).toBe('segments/2');
    expect((await store.head(outcome.key))!.metadata.format).toBe('segments/2');

    const pieces = piecesInOrder(manifest);
    expect(pieces.length).toBeGreaterThan(0);
    let storedBytes = 0;
    for (const { piece } of pieces) {
      expect(piece.key).toMatch(/\.json\.gz$/);
      const body = (await store.get(piece.key))!.body;
      const json = gunzipSync(body);
      expect(piece.bytes).toBe(json.length);
      expect(piece.stored).toBe(body.length);
      expect(JSON.parse(json.toString('utf8'))).toHaveLength(piece.rows);
      storedBytes += body.length;
    }
    const code = pieces.find(({ section }) => section === 'code_history')!.piece;
    // Code compresses: the bound needs several times over.
    expect(code.bytes / code.stored!).toBeGreaterThan(4);
    expect(Number((await store.head(outcome.key))!.metadata['stored-bytes'])).toBe(storedBytes + stored!.body.length);
    expect(outcome.work.jsonBytesWritten).toBe(pieces.reduce((sum, { piece }) => sum + piece.bytes, 0));
    expect(outcome.work.bytesWritten).toBe(storedBytes);

    const view = await getSnapshot({ store }, outcome.snapshot_id);
    const full = await fullState();
    expect(view.data!.code_history).toEqual(full.data.code_history);
    expect(view.data!.sessions).toEqual(full.data.sessions);
    // The contract's size: the whole state as one JSON document, not what the bucket holds.
    expect(view.metadata.snapshot_size_bytes).toBe(
      full.metadata.snapshot_size_bytes + Buffer.byteLength(outcome.snapshot_id) + Buffer.byteLength(view.timestamp),
    );
    first = manifest;
  });

  it('reads a snapshot of the plain format, builds the next on it, and refreshes its pieces gzipped', async () => {
    // The first snapshot as the format before compression wrote it: plain pieces, a plain manifest.
    const plainInstant = new Date(Date.UTC(2031, 4, 1, 12, 1, 0));
    const plainId = snapshotIdFor(plainInstant);
    const plainSegments = structuredClone(first.segments);
    for (const list of Object.values(plainSegments))
      for (const segment of list)
        for (const piece of segment.pieces) {
          const json = gunzipSync((await store.get(piece.key))!.body);
          piece.key = piece.key.replace(/\.gz$/, '');
          delete piece.stored;
          delete piece.last_key;
          await store.put(piece.key, json, { contentType: 'application/json' });
        }
    const plain: SnapshotManifest = {
      ...first,
      format: PLAIN_MANIFEST_FORMAT,
      snapshot_id: plainId,
      timestamp: '2031-05-01T12:01:00Z',
      segments: plainSegments,
    };
    plain.metadata = { ...first.metadata };
    await store.put(snapshotKeyFor(plainId), JSON.stringify(plain), {
      contentType: 'application/json',
      metadata: { format: PLAIN_MANIFEST_FORMAT },
    });
    expect((await readManifest(store, snapshotKeyFor(plainId)))!.format).toBe(PLAIN_MANIFEST_FORMAT);
    const plainView = await getSnapshot({ store }, plainId);
    const full = await fullState();
    expect(plainView.data!.code_history).toEqual(full.data.code_history);

    // A new session only: the code segment is carried over, still the plain piece.
    await createSession({ sql }, { session_id: 'zip-2', candidate: 'Edsger' });
    const next = await take(new Date(Date.UTC(2031, 4, 1, 12, 2, 0)));
    expect(next.work.database).toBe('changes');
    const built = (await readManifest(store, next.key))!;
    expect(built.format).toBe('segments/2');
    expect(built.segments.code_history.flatMap((segment) => segment.pieces).every((piece) => piece.key.endsWith('.json'))).toBe(true);
    const view = await getSnapshot({ store }, next.snapshot_id);
    const now = await fullState();
    expect(byKey(view.data!.sessions, 'session_id')).toEqual(now.data.sessions);
    expect(view.data!.code_history).toEqual(now.data.code_history);

    // A week on, the run refreshes the aging plain pieces into gzipped copies that read the same.
    const later = await take(new Date(Date.UTC(2031, 4, 8, 12, 0, 0)), 7);
    expect(later.work.piecesRefreshed).toBeGreaterThan(0);
    const refreshed = (await readManifest(store, later.key))!;
    const keys = piecesInOrder(refreshed).map(({ piece }) => piece.key);
    expect(keys.every((key) => key.endsWith('.json.gz'))).toBe(true);
    const laterView = await getSnapshot({ store }, later.snapshot_id);
    expect(laterView.data!.code_history).toEqual(now.data.code_history);
    expect(laterView.metadata).toEqual(view.metadata);
  });
});
