/**
 * A snapshot with nothing to build on (the first ever, or the change log pruned past the latest manifest)
 * reads every segment, which at millions of rows takes longer than one invocation. It is built stepwise:
 * each run reads further segments in its own REPEATABLE READ transaction until its time is nearly spent
 * and saves the build under SNAPSHOT_BUILD_KEY; once every segment is read, the build is a base whose
 * database snapshot is the first batch's (S1), and one normal run re-reads, in one transaction, every
 * segment changed by a transaction S1 could not see. A segment no such transaction touched holds the same
 * rows at its batch's instant as at the final one, so the snapshot is one point in time (docs/snapshots.md).
 */
import type { Dependencies } from '../dependencies';
import { SNAPSHOT_BUILD_KEY } from '../keys';
import type { SqlRunner } from '../ports/sql';
import { allSegments, changesPrunedSince, currentDatabaseSnapshot } from './changed-segments';
import { emptySegments, MANIFEST_FORMAT, type ManifestSegment, metadataFor, type SnapshotManifest } from './manifest';
import { noPieceWork, type PieceWork, PieceWriter, writeSegment } from './segment-pieces';
import { type PageLimits, SNAPSHOT_TABLES, type SnapshotSection, tableReaders } from './snapshot-tables';

export const BUILD_FORMAT = 'first-snapshot-build/1';

/**
 * Time a run keeps back from its invocation once it stops reading segments: to save the build, and when
 * the build is done, for the final transaction, the manifest and (a trigger) reading the snapshot back.
 */
export const BUILD_MARGIN_MS = 15_000;

/** A build older than this is started again: its pieces could near the bucket's expiry before it is named. */
const MAX_BUILD_AGE_MS = 24 * 60 * 60 * 1000;

export interface SnapshotBuild {
  format: typeof BUILD_FORMAT;
  /** When the first batch ran (ISO 8601). */
  started_at: string;
  /** pg_current_snapshot() of the first batch's transaction: S1. */
  database_snapshot: string;
  /** The pieces of the segments read so far. */
  segments: Record<SnapshotSection, ManifestSegment[]>;
  /** Segments that held rows at S1 and are not read yet. */
  todo: Record<SnapshotSection, number[]>;
  batches: number;
}

/** How much of the invocation is left; a run always reads at least one segment, so a build always progresses. */
export interface BuildBudget {
  timeLeftMs(): number;
}

export type BuildStep =
  | { status: 'complete'; build: SnapshotBuild; work: PieceWork; segmentsRead: number }
  | { status: 'building'; build: SnapshotBuild; work: PieceWork; segmentsRead: number; segmentsLeft: number }
  | { status: 'busy' };

export interface BuildOptions {
  budget: BuildBudget;
  pageLimits: PageLimits;
  /** Takes the scheduled runs' lock in the batch's transaction; false: another run holds it. */
  lock?: (tx: SqlRunner) => Promise<boolean>;
}

const isBuild = (value: unknown): value is SnapshotBuild =>
  typeof value === 'object' && value !== null && (value as { format?: unknown }).format === BUILD_FORMAT;

const segmentsLeft = (build: SnapshotBuild): number => Object.values(build.todo).reduce((sum, list) => sum + list.length, 0);

/** The finished build as the manifest a normal run builds on: its segments, read as of S1 or later. */
export const buildAsBase = (build: SnapshotBuild): SnapshotManifest => {
  const timestamp = build.started_at;
  return {
    format: MANIFEST_FORMAT,
    timestamp,
    snapshot_id: 'first-snapshot-build',
    metadata: metadataFor(timestamp, 'first-snapshot-build', build.segments),
    segments: build.segments,
    state: { database_snapshot: build.database_snapshot, change_marker: null, database_checked_at: build.started_at },
  };
};

/** The saved build when it can still be finished: not too old, and the change log still holds all since S1. */
export const readResumableBuild = async ({ sql, store }: Pick<Dependencies, 'sql' | 'store'>, now: Date): Promise<SnapshotBuild | null> => {
  const stored = await store.get(SNAPSHOT_BUILD_KEY);
  if (!stored) return null;
  let build: unknown;
  try {
    build = JSON.parse(Buffer.from(stored.body).toString('utf8'));
  } catch {
    return null;
  }
  if (!isBuild(build) || now.getTime() - Date.parse(build.started_at) > MAX_BUILD_AGE_MS) return null;
  return (await changesPrunedSince(sql, build.database_snapshot)) ? null : build;
};

/**
 * One run's share of the build: resumes the saved one (or starts one whose first batch fixes S1 and the
 * segments to read), reads segments until the budget is nearly spent, and saves the build before it
 * returns, so a run that fails later loses nothing already read.
 */
export const continueBuild = async (
  { sql, store, clock }: Pick<Dependencies, 'sql' | 'store' | 'clock'>,
  options: BuildOptions,
): Promise<BuildStep> => {
  const now = clock.now();
  const saved = await readResumableBuild({ sql, store }, now);
  if (saved && segmentsLeft(saved) === 0) return { status: 'complete', build: saved, work: noPieceWork(), segmentsRead: 0 };
  const writer = new PieceWriter(store, now);
  const batch = await sql
    .transaction(
      async (tx) => {
        if (options.lock && !(await options.lock(tx))) return null;
        const build: SnapshotBuild = saved ?? (await startBuild(tx, now));
        // Copies, appended to in segment order (todo is sorted), so the saved build is never changed in place.
        const segments = Object.fromEntries(
          Object.entries(build.segments).map(([section, list]) => [section, [...list]]),
        ) as SnapshotBuild['segments'];
        const todo = { ...build.todo };
        const readers = await tableReaders(tx, options.pageLimits);
        let read = 0;
        for (const reader of readers) {
          const { section } = reader.table;
          while (todo[section].length > 0 && (read === 0 || options.budget.timeLeftMs() > BUILD_MARGIN_MS)) {
            const [segment, ...rest] = todo[section];
            const written = await writeSegment(tx, reader, segment!, writer);
            if (written) segments[section].push(written);
            todo[section] = rest;
            read += 1;
          }
        }
        await writer.drain();
        return { build: { ...build, segments, todo, batches: build.batches + 1 }, read };
      },
      { isolation: 'repeatable read', readOnly: true },
    )
    .finally(() => writer.settle());
  if (!batch) return { status: 'busy' };
  await store.put(SNAPSHOT_BUILD_KEY, JSON.stringify(batch.build), { contentType: 'application/json' });
  const left = segmentsLeft(batch.build);
  // The final transaction needs the margin too: with too little time left it is the next run's.
  if (left === 0 && options.budget.timeLeftMs() > BUILD_MARGIN_MS)
    return { status: 'complete', build: batch.build, work: writer.work, segmentsRead: batch.read };
  return { status: 'building', build: batch.build, work: writer.work, segmentsRead: batch.read, segmentsLeft: left };
};

/** The first batch: its database snapshot is S1, and the segments holding rows at S1 are the ones to read. */
const startBuild = async (tx: SqlRunner, now: Date): Promise<SnapshotBuild> => {
  const databaseSnapshot = await currentDatabaseSnapshot(tx);
  const all = await allSegments(tx);
  const todo = Object.fromEntries(SNAPSHOT_TABLES.map(({ section }) => [section, [...all.get(section)!].sort((a, b) => a - b)])) as Record<
    SnapshotSection,
    number[]
  >;
  return {
    format: BUILD_FORMAT,
    started_at: now.toISOString(),
    database_snapshot: databaseSnapshot,
    segments: emptySegments(),
    todo,
    batches: 0,
  };
};

/** Whether a run has nothing to build on: no manifest, or the change log pruned past the latest one's. */
export const needsBuild = async (sql: SqlRunner, base: SnapshotManifest | null): Promise<boolean> =>
  !base || (await changesPrunedSince(sql, base.state.database_snapshot));
