/**
 * A minute rewrites only the key ranges that hold a changed row (segment-ranges.ts): new rows become a
 * new piece, an update rewrites the one piece holding it, the others are named again, a segment with
 * more changed keys than one routing statement takes still comes out whole, and a segment the rows have
 * moved past is sealed into few pieces. Real PostgreSQL 15 and the
 * directory store; every state is compared with a full read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations } from '../../../db/migrations';
import { DirectoryObjectStore } from '../../../functions/adapters/object-store/directory';
import { openPgSql } from '../../../functions/adapters/sql/pg';
import { migrate } from '../../../functions/core/migrations';
import type { Sql } from '../../../functions/core/ports/sql';
import { createSession } from '../../../functions/core/sessions';
import type { SegmentPiece } from '../../../functions/core/snapshots/manifest';
import { getSnapshot, readManifest } from '../../../functions/core/snapshots/read-snapshots';
import { SEGMENT_KEY_SPAN } from '../../../functions/core/snapshots/snapshot-tables';
import { takeSnapshot } from '../../../functions/core/snapshots/take-snapshot';
import { fullDocument } from '../../support/full-snapshot-read';
import { newDataDir, removeDataDir } from '../../support/local-stack-process';
import { type PostgresServer, startPostgresServer } from '../../support/postgres-server';
import { silentLogger } from '../../support/silent-logger';

let server: PostgresServer;
let sql: Sql;
let dataDir: string;
let store: DirectoryObjectStore;
let now = Date.UTC(2031, 6, 1, 9, 0, 0);

const addCode = (count: number) =>
  sql.query(
    `INSERT INTO code_history (session_id, code, language)
     SELECT 'ranges-1', 'print(' || i || ')', 'python' FROM generate_series(1, CAST(:count AS int)) AS i`,
    { count },
  );

/** The next minute's snapshot, its code_history pieces, and a check that it equals a full read. */
const minute = async () => {
  now += 60_000;
  const outcome = await takeSnapshot({ sql, store, logger: silentLogger, clock: { now: () => new Date(now) } }, { instant: new Date(now) });
  if (outcome.status !== 'taken') throw new Error(`snapshot ${outcome.status}`);
  const view = await getSnapshot({ store }, outcome.snapshot_id);
  const { document } = await sql.transaction((tx) => fullDocument(tx, { timestamp: '', snapshot_id: '' }), {
    isolation: 'repeatable read',
    readOnly: true,
  });
  expect(view.data!.code_history).toEqual(document.data.code_history);
  const manifest = (await readManifest(store, outcome.key))!;
  const pieces: SegmentPiece[] = manifest.segments.code_history.flatMap((segment) => segment.pieces);
  return { work: outcome.work, pieces };
};

beforeAll(async () => {
  server = await startPostgresServer();
  sql = await openPgSql(server.url, { maxConnections: 4 });
  await migrate(sql, loadMigrations());
  dataDir = await newDataDir('segment-ranges');
  store = await new DirectoryObjectStore(dataDir).open();
  await createSession({ sql }, { session_id: 'ranges-1' });
});

afterAll(async () => {
  await sql?.close();
  await server?.stop();
  if (dataDir) await removeDataDir(dataDir);
});

describe('key ranges', () => {
  it('appends new rows as a piece and rewrites only the piece an update lands in', async () => {
    await addCode(10);
    const first = await minute();
    expect(first.pieces.map((piece) => [piece.rows, piece.last_key])).toEqual([[10, '10']]);

    await addCode(10);
    const appended = await minute();
    // Only the new rows were read; the first piece is named again.
    expect(appended.work.rowsRead).toBe(10);
    expect(appended.pieces.map((piece) => [piece.rows, piece.last_key])).toEqual([
      [10, '10'],
      [10, '20'],
    ]);
    expect(appended.pieces[0]!.key).toBe(first.pieces[0]!.key);

    await sql.query(`UPDATE code_history SET code = 'edited' WHERE id = 15`);
    await sql.query(`DELETE FROM code_history WHERE id = 20`);
    const updated = await minute();
    expect(updated.work.rowsRead).toBe(9);
    expect(updated.pieces[0]!.key).toBe(first.pieces[0]!.key);
    expect(updated.pieces.map((piece) => [piece.rows, piece.last_key])).toEqual([
      [10, '10'],
      [9, '19'],
    ]);
  });

  it('routes more changed keys than one statement takes', async () => {
    await addCode(1100);
    await sql.query(`UPDATE code_history SET code = 'again' WHERE id <= 10`);
    const many = await minute();
    expect(many.work.rowsRead).toBe(10 + 1100);
    expect(many.pieces.reduce((sum, piece) => sum + piece.rows, 0)).toBe(10 + 9 + 1100);
  });

  it('seals a segment once rows land past it: its small pieces become one', async () => {
    const before = await minute();
    expect(before.pieces.length).toBeGreaterThan(1);
    await sql.query(
      `INSERT INTO code_history (id, session_id, code, language) OVERRIDING SYSTEM VALUE VALUES (${SEGMENT_KEY_SPAN + 5}, 'ranges-1', 'next', 'python')`,
    );
    const sealed = await minute();
    expect(sealed.work.rowsRead).toBe(1 + 10 + 9 + 1100);
    expect(sealed.pieces.map((piece) => [piece.rows, piece.last_key])).toEqual([
      [10 + 9 + 1100, '1120'],
      [1, String(SEGMENT_KEY_SPAN + 5)],
    ]);
  });
});
