/**
 * Takes one snapshot: reads, in one read-only REPEATABLE READ transaction, only the segments whose rows
 * changed since the snapshot it builds on (every segment when there is none), writes them as new
 * immutable pieces, and stores a manifest naming them and the unchanged pieces under the instant's key,
 * created only if absent: a snapshot is never overwritten and no reader sees a partial one. A scheduled
 * run in a quiet minute (the change marker as the last manifest recorded it) does not open the database.
 */
import type { Dependencies } from '../dependencies';
import { snapshotIdFor, snapshotKeyFor } from '../keys';
import { ObjectAlreadyExistsError } from '../ports/object-store';
import type { SqlRunner } from '../ports/sql';
import { readChangeMarker } from './change-marker';
import {
  allSegments,
  type ChangedRows,
  changedRowsSince,
  changesPrunedSince,
  currentDatabaseSnapshot,
  pruneChangesBefore,
} from './changed-segments';
import { GZIP_CONTENT_TYPE, gzipText } from './compression';
import { type BuildBudget, buildAsBase, continueBuild, needsBuild } from './first-snapshot-build';
import {
  countsOf,
  emptySegments,
  MANIFEST_FORMAT,
  type ManifestSegment,
  type ManifestState,
  metadataFor,
  type SnapshotManifest,
  storedBytesOf,
} from './manifest';
import { readLatestManifest } from './read-snapshots';
import { noPieceWork, type PieceWork, PieceWriter, refreshPieces, writeSegment } from './segment-pieces';
import { hasKeyRanges, MERGE_FANOUT, rewriteChangedRanges } from './segment-ranges';
import { type RowCounts, type SnapshotMetadata, snapshotTimestamp } from './snapshot-document';
import { DEFAULT_PAGE_LIMITS, type PageLimits, type SnapshotSection, tableReaders } from './snapshot-tables';

/** What a run cost: how it used the database, and what it read and wrote. */
export interface SnapshotWork extends PieceWork {
  /** `quiet`: no database; `changes`: the changed segments; `full`: every segment. */
  database: 'quiet' | 'changes' | 'full';
  segmentsRead: number;
  piecesRefreshed: number;
  /** The manifest as stored (gzipped). */
  manifestBytes: number;
  /** The manifest as JSON. */
  manifestJsonBytes: number;
}

export type SnapshotOutcome =
  | { status: 'taken'; snapshot_id: string; key: string; metadata: SnapshotMetadata; work: SnapshotWork }
  /** `exists`: this second's snapshot is already there; `busy`: another exclusive run holds the lock. */
  | { status: 'skipped'; snapshot_id: string; key: string; reason: 'exists' | 'busy' }
  /** Nothing to build on and not all read within the budget: a later run continues (first-snapshot-build.ts). */
  | { status: 'building'; snapshot_id: string; key: string; segmentsLeft: number; work: PieceWork };

export interface TakeSnapshotOptions {
  /** The instant the snapshot is named by (whole seconds). */
  instant: Date;
  /** Skip, rather than run beside, another exclusive run (the scheduled ones) that is still going. */
  exclusive?: boolean;
  pageLimits?: PageLimits;
  /**
   * Scheduled runs: when the change marker is what the latest manifest recorded and the database was read
   * less than this long ago (ms), the snapshot names the same pieces without opening the database. The
   * bound catches a marker lost between a commit and its put. Unset: always read the database.
   */
  quietFor?: number;
  /** Scheduled runs: refresh pieces about to outlive this retention (refreshPieces). */
  retentionDays?: number;
  /**
   * The invocation's time: with nothing to build on, every segment is read stepwise over runs within it
   * (first-snapshot-build.ts). Unset: read in one go, however long that takes.
   */
  budget?: BuildBudget;
}

/** Any fixed number: the transaction-scoped advisory lock that keeps scheduled runs from overlapping. */
const SCHEDULED_SNAPSHOT_LOCK = 7_203_614_451;

/** Kept with the object, so a snapshot can be described from a head request. */
export const countsAsObjectMetadata = (counts: RowCounts): Record<string, string> => ({
  'total-sessions': String(counts.sessions),
  'total-audio-chunks': String(counts.audio_chunks),
  'total-code-entries': String(counts.code_history),
  'total-executions': String(counts.execution_results),
});

export const tryLock = async (tx: SqlRunner): Promise<boolean> => {
  const [row] = await tx.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock(CAST(:lock AS bigint)) AS locked', {
    lock: SCHEDULED_SNAPSHOT_LOCK,
  });
  return row?.locked === true;
};

interface DatabaseRead {
  segments: Record<SnapshotSection, ManifestSegment[]>;
  databaseSnapshot: string;
  mode: 'changes' | 'full';
  segmentsRead: number;
  work: PieceWork;
}

/**
 * Inside the snapshot's transaction: the segments to read again, read and written as pieces, merged into
 * the base's. Exported for the test that compares it with a full read in the same transaction.
 */
export const readChangedSegments = async (
  tx: SqlRunner,
  base: SnapshotManifest | null,
  writer: PieceWriter,
  limits: PageLimits,
  /** How many trailing pieces of a tier are merged (segment-ranges.ts); tests lower it to merge often. */
  mergeFanout = MERGE_FANOUT,
): Promise<Omit<DatabaseRead, 'work'>> => {
  const databaseSnapshot = await currentDatabaseSnapshot(tx);
  const buildOn = base && !(await changesPrunedSince(tx, base.state.database_snapshot)) ? base : null;
  // Per changed segment the keys of its changed rows; null: read it whole (no base, or no keys logged).
  const dirty: ChangedRows = buildOn
    ? await changedRowsSince(tx, buildOn.state.database_snapshot)
    : new Map([...(await allSegments(tx))].map(([section, numbers]) => [section, new Map([...numbers].map((n) => [n, null]))]));
  const readers = await tableReaders(tx, limits);
  const segments = emptySegments();
  let segmentsRead = 0;
  for (const reader of readers) {
    const { section } = reader.table;
    const changed = dirty.get(section)!;
    const before = new Map((buildOn?.segments[section] ?? []).map((segment) => [segment.segment, segment]));
    // When rows land past the newest segment, that segment is complete: seal it (segment-ranges.ts).
    const newest = Math.max(...before.keys());
    const sealing = before.size > 0 && [...changed.keys()].some((segment) => segment > newest) && hasKeyRanges(before.get(newest)!);
    if (sealing && !changed.has(newest)) changed.set(newest, new Set());
    const kept = [...before.values()].filter((segment) => !changed.has(segment.segment));
    const fresh: ManifestSegment[] = [];
    for (const [segment, keys] of [...changed].sort(([a], [b]) => a - b)) {
      const base = before.get(segment);
      const written =
        base && keys && hasKeyRanges(base)
          ? await rewriteChangedRanges(tx, reader, base, keys, writer, mergeFanout, sealing && segment === newest)
          : await writeSegment(tx, reader, segment, writer);
      segmentsRead += 1;
      if (written) fresh.push(written);
    }
    segments[section] = [...kept, ...fresh].sort((a, b) => a.segment - b.segment);
  }
  await writer.drain();
  return { segments, databaseSnapshot, mode: buildOn ? 'changes' : 'full', segmentsRead };
};

const addWork = (a: PieceWork, b: PieceWork | undefined): PieceWork =>
  b
    ? (Object.fromEntries(Object.entries(a).map(([name, value]) => [name, value + b[name as keyof PieceWork]])) as unknown as PieceWork)
    : a;

export const takeSnapshot = async (
  { sql, store, clock, logger }: Pick<Dependencies, 'sql' | 'store' | 'clock' | 'logger'>,
  options: TakeSnapshotOptions,
): Promise<SnapshotOutcome> => {
  const snapshotId = snapshotIdFor(options.instant);
  const key = snapshotKeyFor(snapshotId);
  const skipped = (reason: 'exists' | 'busy'): SnapshotOutcome => ({ status: 'skipped', snapshot_id: snapshotId, key, reason });
  // Cheap early exit; the create-if-absent put below is what actually guarantees no overwrite.
  if (await store.head(key)) return skipped('exists');

  const startedAt = clock.now();
  const base = await readLatestManifest(store, startedAt);
  // Read before the transaction starts: a write whose marker put began after this read changes the marker
  // the next run compares with; one whose put began before it committed before the transaction began.
  const marker = await readChangeMarker(store);
  const quiet =
    options.quietFor !== undefined &&
    base !== null &&
    base.state.change_marker === marker &&
    startedAt.getTime() - Date.parse(base.state.database_checked_at) < options.quietFor;

  let read: DatabaseRead | null;
  // The finished stepwise build this run's read builds on, when there was nothing else to build on.
  let built: { base: SnapshotManifest; segmentsRead: number; work: PieceWork } | null = null;
  if (quiet) {
    read = {
      segments: base.segments,
      databaseSnapshot: base.state.database_snapshot,
      mode: 'changes',
      segmentsRead: 0,
      work: noPieceWork(),
    };
  } else {
    const pageLimits = options.pageLimits ?? DEFAULT_PAGE_LIMITS;
    if (options.budget && (await needsBuild(sql, base))) {
      const step = await continueBuild(
        { sql, store, clock },
        { budget: options.budget, pageLimits, lock: options.exclusive ? tryLock : undefined },
      );
      if (step.status === 'busy') {
        logger.info('Snapshot skipped', { snapshotId, reason: 'busy' });
        return skipped('busy');
      }
      if (step.status === 'building') {
        logger.info('Snapshot building', { snapshotId, segmentsRead: step.segmentsRead, segmentsLeft: step.segmentsLeft, ...step.work });
        return { status: 'building', snapshot_id: snapshotId, key, segmentsLeft: step.segmentsLeft, work: step.work };
      }
      built = { base: buildAsBase(step.build), segmentsRead: step.segmentsRead, work: step.work };
    }
    const from = built?.base ?? base;
    const writer = new PieceWriter(store, startedAt);
    read = await sql
      .transaction(
        async (tx): Promise<DatabaseRead | null> => {
          if (options.exclusive && !(await tryLock(tx))) return null;
          return { ...(await readChangedSegments(tx, from, writer, pageLimits)), work: writer.work };
        },
        { isolation: 'repeatable read', readOnly: true },
      )
      .finally(() => writer.settle());
    if (!read) {
      logger.info('Snapshot skipped', { snapshotId, reason: 'busy' });
      return skipped('busy');
    }
  }

  let { segments } = read;
  let piecesRefreshed = 0;
  if (options.retentionDays !== undefined) {
    const refreshed = await refreshPieces(store, segments, { now: startedAt, retentionDays: options.retentionDays });
    segments = refreshed.segments;
    piecesRefreshed = refreshed.refreshed;
  }
  const timestamp = snapshotTimestamp(options.instant);
  const state: ManifestState = quiet
    ? base.state
    : { database_snapshot: read.databaseSnapshot, change_marker: marker, database_checked_at: startedAt.toISOString() };
  const metadata = metadataFor(timestamp, snapshotId, segments);
  const manifest: SnapshotManifest = { format: MANIFEST_FORMAT, timestamp, snapshot_id: snapshotId, metadata, segments, state };
  const json = JSON.stringify(manifest);
  const body = await gzipText(json);
  const storedBytes = storedBytesOf(segments) + body.length;
  try {
    await store.put(key, body, {
      ifAbsent: true,
      contentType: GZIP_CONTENT_TYPE,
      metadata: {
        format: MANIFEST_FORMAT,
        'size-bytes': String(metadata.snapshot_size_bytes),
        // What this snapshot's objects take in the bucket (shared pieces counted in full).
        'stored-bytes': String(storedBytes),
        ...countsAsObjectMetadata(countsOf(segments)),
      },
    });
  } catch (error) {
    if (error instanceof ObjectAlreadyExistsError) {
      logger.info('Snapshot skipped', { snapshotId, reason: 'exists' });
      return skipped('exists');
    }
    throw error;
  }
  const prunable = built?.base ?? base;
  if (!quiet && prunable) {
    // Housekeeping: a failure leaves a longer log for the next run, never a wrong snapshot.
    await pruneChangesBefore(sql, prunable.state.database_snapshot).catch((error: unknown) =>
      logger.warn('Snapshot change log not pruned', { error: error instanceof Error ? error.message : String(error) }),
    );
  }
  const work: SnapshotWork = {
    ...addWork(read.work, built?.work),
    database: quiet ? 'quiet' : built ? 'full' : read.mode,
    segmentsRead: read.segmentsRead + (built?.segmentsRead ?? 0),
    piecesRefreshed,
    manifestBytes: body.length,
    manifestJsonBytes: Buffer.byteLength(json),
  };
  logger.info('Snapshot taken', { snapshotId, key, ...metadata, ...work });
  return { status: 'taken', snapshot_id: snapshotId, key, metadata, work };
};
