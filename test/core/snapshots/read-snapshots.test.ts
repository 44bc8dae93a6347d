/**
 * Finding, listing and expiring snapshots with a week of them at one a minute (10,080 files in the
 * directory store), counting the store requests each operation makes.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DirectoryObjectStore } from '../../../functions/adapters/object-store/directory';
import {
  SNAPSHOT_CHANGE_MARKER_KEY,
  SNAPSHOT_SEGMENTS_PREFIX,
  snapshotIdFor,
  snapshotKeyFor,
  snapshotSegmentKeyFor,
} from '../../../functions/core/keys';
import { cleanupOldSnapshots } from '../../../functions/core/snapshots/cleanup';
import { getLatestSnapshot, getSnapshot, listSnapshots, MAX_INLINE_SNAPSHOT_BYTES } from '../../../functions/core/snapshots/read-snapshots';
import { segmentLifetimeDays } from '../../../functions/core/snapshots/segment-pieces';
import { type CountingObjectStore, countingObjectStore } from '../../support/counting-object-store';
import { newDataDir, removeDataDir } from '../../support/local-stack-process';
import { silentLogger } from '../../support/silent-logger';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
/** One snapshot a minute for a week, the last at 2030-01-08T20:00:00Z. */
const LAST = Date.UTC(2030, 0, 8, 20, 0, 0);
const WEEK = 7 * 24 * 60;

let dataDir: string;
let store: CountingObjectStore;

const documentFor = (snapshotId: string, timestamp: string) =>
  JSON.stringify({
    timestamp,
    snapshot_id: snapshotId,
    data: { sessions: [], audio_chunks: [], code_history: [], execution_results: [] },
    metadata: { total_sessions: 0, total_audio_chunks: 0, total_code_entries: 0, total_executions: 0, snapshot_size_bytes: 0 },
  });

/** Written straight into the directory, laid out as the store lays it out: quicker than 10,000 fsyncs. */
const writeSnapshotFiles = async (root: string, instants: readonly number[]) => {
  await mkdir(join(root, 'snapshots'), { recursive: true });
  for (let start = 0; start < instants.length; start += 500) {
    await Promise.all(
      instants.slice(start, start + 500).map((instant) => {
        const snapshotId = snapshotIdFor(new Date(instant));
        const timestamp = new Date(instant).toISOString().replace('.000Z', 'Z');
        return writeFile(join(root, snapshotKeyFor(snapshotId)), documentFor(snapshotId, timestamp));
      }),
    );
  }
};

const weekOfInstants = Array.from({ length: WEEK }, (_, index) => LAST - (WEEK - 1 - index) * MINUTE);

beforeAll(async () => {
  dataDir = await newDataDir('snapshots-read');
  store = countingObjectStore(await new DirectoryObjectStore(dataDir).open());
  await writeSnapshotFiles(dataDir, weekOfInstants);
  // Not a snapshot: listing and retention must leave it alone.
  await writeFile(join(dataDir, 'snapshots', 'README.txt'), 'not a snapshot');
});

afterAll(async () => {
  if (dataDir) await removeDataDir(dataDir);
});

beforeEach(() => store.reset());

const at = (instant: number) => ({ store, clock: { now: () => new Date(instant) }, logger: silentLogger });

describe('latest snapshot with a week of snapshots', () => {
  it('is found with two list requests when today has more than a page of them, reading only that one object', async () => {
    const latest = await getLatestSnapshot(at(LAST + 30_000));
    expect(latest.snapshot_id).toBe(snapshotIdFor(new Date(LAST)));
    expect(latest.timestamp).toBe('2030-01-08T20:00:00Z');
    expect(latest.file_path).toBe('snapshots/snapshot_20300108_200000.json');
    expect(store.counts.list).toBe(2);
    expect(store.counts.get + store.counts.head).toBeLessThanOrEqual(2);
  });

  it('walks back over empty days to the newest one, still with a few list requests', async () => {
    const latest = await getLatestSnapshot(at(LAST + 2 * DAY));
    expect(latest.snapshot_id).toBe(snapshotIdFor(new Date(LAST)));
    expect(store.counts.list).toBeLessThanOrEqual(5);
    expect(store.counts.get).toBe(1);
  });

  it('answers 404 when there is none, without walking forever', async () => {
    const empty = countingObjectStore(await new DirectoryObjectStore(await newDataDir('snapshots-empty')).open());
    await expect(getLatestSnapshot({ store: empty, clock: { now: () => new Date(LAST) } })).rejects.toMatchObject({ kind: 'not_found' });
    expect(empty.counts.list).toBeLessThanOrEqual(2);
  });
});

describe('listing', () => {
  it('pages newest first through every snapshot exactly once, with one is_latest and the total, reading no object', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let latestFlags = 0;
    let pages = 0;
    do {
      // Pages of 2,500 (the route caps them at 1,000): each call lists every key once for the total.
      const page = await listSnapshots({ store }, { limit: 2500, cursor });
      pages += 1;
      expect(page.total_count).toBe(WEEK);
      seen.push(...page.snapshots.map((snapshot) => snapshot.snapshot_id));
      latestFlags += page.snapshots.filter((snapshot) => snapshot.is_latest).length;
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    expect(pages).toBe(Math.ceil(WEEK / 2500));
    expect(store.counts.list).toBe(pages * Math.ceil((WEEK + 1) / 1000));
    expect(seen).toEqual(weekOfInstants.map((instant) => snapshotIdFor(new Date(instant))).reverse());
    expect(latestFlags).toBe(1);
    expect(store.counts.get + store.counts.head).toBe(0);
  });

  it('describes each snapshot with the seed fields', async () => {
    const { snapshots, next_cursor } = await listSnapshots({ store }, { limit: 2 });
    expect(snapshots).toEqual([
      {
        snapshot_id: snapshotIdFor(new Date(LAST)),
        timestamp: '2030-01-08T20:00:00Z',
        file_path: 'snapshots/snapshot_20300108_200000.json',
        file_size: expect.any(Number),
        is_latest: true,
      },
      expect.objectContaining({ snapshot_id: snapshotIdFor(new Date(LAST - MINUTE)), is_latest: false }),
    ]);
    expect(snapshots[0]!.file_size).toBeGreaterThan(100);
    expect(next_cursor).toBe(snapshotIdFor(new Date(LAST - MINUTE)));
  });
});

describe('one snapshot by id', () => {
  it('is 404 when unknown', async () => {
    await expect(getSnapshot({ store }, 'snapshot_1000000000')).rejects.toMatchObject({ kind: 'not_found' });
  });

  it('comes back described but without data when too big for a response', async () => {
    const dir = await newDataDir('snapshots-big');
    const big = await new DirectoryObjectStore(dir).open();
    const snapshotId = 'snapshot_1900000000';
    await big.put(snapshotKeyFor(snapshotId), 'x'.repeat(MAX_INLINE_SNAPSHOT_BYTES + 1), {
      metadata: { 'total-sessions': '3', 'total-audio-chunks': '4', 'total-code-entries': '5', 'total-executions': '6' },
    });
    const view = await getSnapshot({ store: big }, snapshotId);
    expect(view).toEqual({
      timestamp: '2030-03-17T17:46:40Z',
      snapshot_id: snapshotId,
      data: null,
      metadata: {
        total_sessions: 3,
        total_audio_chunks: 4,
        total_code_entries: 5,
        total_executions: 6,
        snapshot_size_bytes: MAX_INLINE_SNAPSHOT_BYTES + 1,
      },
      file_path: 'snapshots/snapshot_20300317_174640.json',
    });
    await removeDataDir(dir);
  });
});

describe('retention', () => {
  it('removes exactly the snapshots named more than keep_days ago, and nothing else', async () => {
    const dir = await newDataDir('snapshots-retention');
    const retained = countingObjectStore(await new DirectoryObjectStore(dir).open());
    const now = Date.UTC(2030, 0, 10, 12, 0, 0);
    // Every 6 hours for 10 days, plus the second just before, at and after the 7-day cutoff.
    const cutoff = now - 7 * DAY;
    const instants = [...Array.from({ length: 41 }, (_, index) => now - index * 6 * 60 * MINUTE), cutoff - 1000, cutoff + 1000];
    await writeSnapshotFiles(dir, instants);
    await writeFile(join(dir, 'snapshots', 'notes.txt'), 'kept');

    const report = await cleanupOldSnapshots({ store: retained, clock: { now: () => new Date(now) }, logger: silentLogger }, 7);
    const expired = instants.filter((instant) => instant < cutoff);
    expect(report).toEqual({ deleted_count: expired.length, cutoff: new Date(cutoff).toISOString(), pieces_deleted: 0 });

    const left = await listSnapshots({ store: retained }, { limit: 1000 });
    const kept = instants.filter((instant) => instant >= cutoff).sort((a, b) => b - a);
    expect(left.snapshots.map((snapshot) => snapshot.snapshot_id)).toEqual(kept.map((instant) => snapshotIdFor(new Date(instant))));
    expect((await retained.list('snapshots/notes')).objects).toHaveLength(1);

    retained.reset();
    const again = await cleanupOldSnapshots({ store: retained, clock: { now: () => new Date(now) }, logger: silentLogger }, 7);
    expect(again.deleted_count).toBe(0);
    expect(retained.counts.delete).toBe(0);
    await removeDataDir(dir);
  });

  it('leaves a week of snapshots alone until they expire', async () => {
    const report = await cleanupOldSnapshots(at(LAST + 30_000), 7);
    expect(report.deleted_count).toBe(0);
    // One list of the snapshots, one of the segment pieces.
    expect(store.counts.list).toBe(2);
  });

  it('removes segment pieces written more than the retention, a day of refresh and a day of slack ago, as the bucket rule does', async () => {
    const dir = await newDataDir('snapshots-piece-retention');
    const pieces = await new DirectoryObjectStore(dir).open();
    const now = Date.UTC(2030, 0, 20, 12, 0, 0);
    const lifetime = segmentLifetimeDays(7) * DAY;
    const written = [now - lifetime - 60_000, now - lifetime - 1000, now - lifetime + 1000, now - DAY, now];
    const keys = written.map((instant, index) => snapshotSegmentKeyFor(new Date(instant), 'code_history', index, 0, `n${index}`));
    for (const key of keys) await pieces.put(key, '[]');
    await pieces.put(SNAPSHOT_CHANGE_MARKER_KEY, 'marker');

    const report = await cleanupOldSnapshots({ store: pieces, clock: { now: () => new Date(now) }, logger: silentLogger }, 7);
    expect(report.pieces_deleted).toBe(2);
    const left = (await pieces.list(SNAPSHOT_SEGMENTS_PREFIX)).objects.map((object) => object.key);
    expect(left).toEqual([...keys.slice(2), SNAPSHOT_CHANGE_MARKER_KEY]);
    await removeDataDir(dir);
  });
});
