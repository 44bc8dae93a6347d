/**
 * Reading snapshots back: one by id, the latest, and the newest-first listing. Keys sort by time, so
 * the latest is found by listing the newest day prefixes only, and nothing here reads an object just
 * to list it.
 */
import type { Dependencies } from '../dependencies';
import { notFound } from '../errors';
import { SNAPSHOTS_PREFIX, snapshotDayPrefixFor, snapshotIdFromKey, snapshotInstantOf, snapshotKeyFor } from '../keys';
import type { ObjectStore, StoredObject } from '../ports/object-store';
import { GZIP_EXTENSION, storedText } from './compression';
import { isManifest, isManifestFormat, MANIFEST_FORMAT, piecesInOrder, type SnapshotManifest } from './manifest';
import {
  type SnapshotData,
  type SnapshotDocument,
  type SnapshotMetadata,
  snapshotTimestamp,
  snapshotTimestampOfKey,
} from './snapshot-document';
import type { SnapshotSection } from './snapshot-tables';

/**
 * Largest snapshot returned inline. A Lambda response is at most 6 MB; a bigger snapshot is described
 * (metadata, file_path) with `data: null`, and its file is read from the store.
 */
export const MAX_INLINE_SNAPSHOT_BYTES = 5_000_000;

/** The seed's snapshot shape, plus where the file lives. */
export interface SnapshotView {
  timestamp: string;
  snapshot_id: string;
  data: SnapshotData | null;
  metadata: SnapshotMetadata;
  file_path: string;
  /**
   * Only when `data` is null (a state over MAX_INLINE_SNAPSHOT_BYTES): the API paths that serve the whole
   * state part by part, each within a Lambda response (GET /sandbox_snapshot/{id}/parts/{n}).
   */
  parts?: string[];
}

/** One part of a snapshot too big to return inline: rows of one table, in document order. */
export interface SnapshotPart {
  snapshot_id: string;
  part: number;
  parts_total: number;
  section: SnapshotSection;
  /** Null when the rows would not fit a Lambda response: `url` then serves them, as a JSON array. */
  rows: Record<string, unknown>[] | null;
  /** Only with `rows: null`: a presigned GET of the part's JSON array of rows, valid until `url_expires_at`. */
  url?: string;
  url_expires_at?: string;
}

/** How long a part's presigned URL is valid. */
export const PART_URL_SECONDS = 15 * 60;

/**
 * The bytes rows take in a Lambda response: JSON in the body, which the response carries as a JSON
 * string, so every quote and backslash is escaped once more (a 4 MiB piece of quoted code can double).
 */
export const responseBytesOf = (value: unknown): number => Buffer.byteLength(JSON.stringify(JSON.stringify(value)));

export interface SnapshotListing {
  snapshots: {
    snapshot_id: string;
    timestamp: string;
    file_path: string;
    file_size: number;
    is_latest: boolean;
  }[];
  total_count: number;
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  next_cursor: string | null;
}

type Readers = Pick<Dependencies, 'store'>;

const KEY_PREFIX = `${SNAPSHOTS_PREFIX}snapshot_`;
const DAY_MS = 24 * 60 * 60 * 1000;

/** Piece reads in flight at once while a snapshot is assembled. */
const MAX_GETS_IN_FLIGHT = 16;

const objectMetadataCount = (metadata: Record<string, string>, name: string): number => {
  const value = Number(metadata[name]);
  return Number.isSafeInteger(value) && value >= 0 ? value : 0;
};

/** The manifest stored under a snapshot key; null when there is none or it is a whole document of the earlier format. */
export const readManifest = async (store: ObjectStore, key: string): Promise<SnapshotManifest | null> => {
  const described = await store.head(key);
  if (!described || !isManifestFormat(described.metadata.format)) return null;
  const stored = await store.get(key);
  if (!stored) return null;
  const manifest: unknown = JSON.parse(await storedText(stored.body, described.metadata.format === MANIFEST_FORMAT));
  return isManifest(manifest) ? manifest : null;
};

/** The newest snapshot's manifest, the one a new snapshot builds on; null when it has none. */
export const readLatestManifest = async (store: ObjectStore, now: Date): Promise<SnapshotManifest | null> => {
  const latest = await findLatestSnapshotObject(store, new Date(now.getTime() + 1000));
  return latest ? readManifest(store, latest.key) : null;
};

const pieceRows = async (store: ObjectStore, key: string): Promise<Record<string, unknown>[]> => {
  const stored = await store.get(key);
  if (!stored) throw new Error(`snapshot piece ${key} is missing`);
  return JSON.parse(await storedText(stored.body, key.endsWith(GZIP_EXTENSION))) as Record<string, unknown>[];
};

/** The whole state a manifest names, its pieces read a few at a time. */
export const assembleData = async (store: ObjectStore, manifest: SnapshotManifest): Promise<SnapshotData> => {
  const pieces = piecesInOrder(manifest);
  const rows: Record<string, unknown>[][] = new Array(pieces.length);
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < pieces.length; index = next++) rows[index] = await pieceRows(store, pieces[index]!.piece.key);
  };
  await Promise.all(Array.from({ length: Math.min(MAX_GETS_IN_FLIGHT, pieces.length) }, worker));
  const data: SnapshotData = { sessions: [], audio_chunks: [], code_history: [], execution_results: [] };
  for (const [index, { section }] of pieces.entries()) for (const row of rows[index]!) data[section].push(row);
  return data;
};

export const partPathFor = (snapshotId: string, part: number): string => `/sandbox_snapshot/${snapshotId}/parts/${part}`;

/** Reads a stored snapshot into its view, or null when there is no such object. */
export const readSnapshot = async ({ store }: Readers, snapshotId: string): Promise<SnapshotView | null> => {
  const key = snapshotKeyFor(snapshotId);
  const described = await store.head(key);
  if (!described) return null;
  const view = (data: SnapshotData | null, metadata: SnapshotMetadata): SnapshotView => ({
    timestamp: snapshotTimestamp(snapshotInstantOf(snapshotId)),
    snapshot_id: snapshotId,
    data,
    metadata,
    file_path: store.locationOf(key),
  });
  if (isManifestFormat(described.metadata.format)) {
    const manifest = await readManifest(store, key);
    // Retention can remove it between the two calls.
    if (!manifest) return null;
    if (manifest.metadata.snapshot_size_bytes <= MAX_INLINE_SNAPSHOT_BYTES) {
      const data = await assembleData(store, manifest);
      if (responseBytesOf(data) <= MAX_INLINE_SNAPSHOT_BYTES) return view(data, manifest.metadata);
    }
    const count = piecesInOrder(manifest).length;
    return { ...view(null, manifest.metadata), parts: Array.from({ length: count }, (_, part) => partPathFor(snapshotId, part)) };
  }
  // A whole document, as snapshots were written before segments (issue 16).
  if (described.size > MAX_INLINE_SNAPSHOT_BYTES) {
    const counts = described.metadata;
    return view(null, {
      total_sessions: objectMetadataCount(counts, 'total-sessions'),
      total_audio_chunks: objectMetadataCount(counts, 'total-audio-chunks'),
      total_code_entries: objectMetadataCount(counts, 'total-code-entries'),
      total_executions: objectMetadataCount(counts, 'total-executions'),
      snapshot_size_bytes: described.size,
    });
  }
  const stored = await store.get(key);
  if (!stored) return null;
  const document = JSON.parse(Buffer.from(stored.body).toString('utf8')) as SnapshotDocument;
  return view(document.data, document.metadata);
};

/** Part `part` of a snapshot: one piece's rows. 404 for an unknown snapshot or a part past the last. */
export const getSnapshotPart = async ({ store }: Readers, snapshotId: string, part: number): Promise<SnapshotPart> => {
  const manifest = await readManifest(store, snapshotKeyFor(snapshotId));
  if (!manifest) throw notFound('Snapshot not found', `No snapshot with id "${snapshotId}" stored in parts`);
  const pieces = piecesInOrder(manifest);
  const chosen = pieces[part];
  if (!chosen) throw notFound('Snapshot part not found', `Snapshot "${snapshotId}" has ${pieces.length} parts, numbered from 0`);
  const answer = { snapshot_id: snapshotId, part, parts_total: pieces.length, section: chosen.section };
  // A piece's bytes bound what its rows take in a response from below; only a piece that may fit is read.
  const rows = chosen.piece.bytes <= MAX_INLINE_SNAPSHOT_BYTES ? await pieceRows(store, chosen.piece.key) : null;
  if (rows && responseBytesOf(rows) <= MAX_INLINE_SNAPSHOT_BYTES) return { ...answer, rows };
  // A gzipped piece is served as JSON with Content-Encoding: gzip, so the client gets the rows decoded.
  const presigned = await store.presignGet(chosen.piece.key, {
    expiresInSeconds: PART_URL_SECONDS,
    ...(chosen.piece.key.endsWith(GZIP_EXTENSION) ? { responseContentType: 'application/json', responseContentEncoding: 'gzip' } : {}),
  });
  return { ...answer, rows: null, url: presigned.url, url_expires_at: presigned.expiresAt };
};

export const getSnapshot = async (deps: Readers, snapshotId: string): Promise<SnapshotView> => {
  const view = await readSnapshot(deps, snapshotId);
  if (!view) throw notFound('Snapshot not found', `No snapshot with id "${snapshotId}"`);
  return view;
};

const newestOf = (objects: readonly StoredObject[]): StoredObject | null =>
  objects.findLast((object) => snapshotIdFromKey(object.key) !== null) ?? null;

/** The newest snapshot under a prefix small enough to page through (an hour holds at most 3,600). */
const newestUnder = async (store: ObjectStore, prefix: string): Promise<StoredObject | null> => {
  let newest: StoredObject | null = null;
  let continuationToken: string | undefined;
  do {
    const page = await store.list(prefix, { continuationToken });
    newest = newestOf(page.objects) ?? newest;
    continuationToken = page.nextToken;
  } while (continuationToken);
  return newest;
};

/** A day at one snapshot a minute is 1,440 keys: two pages. Only a day crowded with manual triggers goes hour by hour. */
const MAX_DAY_PAGES = 3;

/**
 * The newest snapshot of one UTC day, no later than `until`'s hour when `until` is that day: pages
 * through the day, and when it holds more than a few pages, lists its hours newest first instead, down
 * to the hour the pages already reached.
 */
const newestOfDay = async (store: ObjectStore, dayPrefix: string, until: Date): Promise<StoredObject | null> => {
  let newest: StoredObject | null = null;
  let continuationToken: string | undefined;
  for (let pages = 0; pages < MAX_DAY_PAGES; pages += 1) {
    const page = await store.list(dayPrefix, { continuationToken });
    newest = newestOf(page.objects) ?? newest;
    continuationToken = page.nextToken;
    if (!continuationToken) return newest;
  }
  const hourAt = (key: string) => Number(key.slice(dayPrefix.length + 1, dayPrefix.length + 3));
  const reachedHour = newest ? hourAt(newest.key) : 0;
  const sameDay = snapshotDayPrefixFor(until) === dayPrefix;
  for (let hour = sameDay ? until.getUTCHours() : 23; hour >= reachedHour; hour -= 1) {
    const inHour = await newestUnder(store, `${dayPrefix}_${String(hour).padStart(2, '0')}`);
    if (inHour) return inHour;
  }
  return newest;
};

/**
 * The newest snapshot object: today's day prefix first, then earlier days, back to the day of the
 * oldest snapshot (one more list request finds it). About two list requests when a snapshot was taken today.
 */
export const findLatestSnapshotObject = async (store: ObjectStore, now: Date): Promise<StoredObject | null> => {
  let oldestDay: string | undefined;
  for (let day = 0; ; day += 1) {
    const dayPrefix = snapshotDayPrefixFor(new Date(now.getTime() - day * DAY_MS));
    const newest = await newestOfDay(store, dayPrefix, now);
    if (newest) return newest;
    if (oldestDay === undefined) {
      const [oldest] = (await store.list(KEY_PREFIX, { maxKeys: 1 })).objects;
      if (!oldest) return null;
      oldestDay = oldest.key.slice(0, dayPrefix.length);
    }
    if (dayPrefix <= oldestDay) return null;
  }
};

export const getLatestSnapshot = async ({ store, clock }: Pick<Dependencies, 'store' | 'clock'>): Promise<SnapshotView> => {
  // A second of slack lets a snapshot just taken by a host whose clock runs slightly ahead count as today.
  const latest = await findLatestSnapshotObject(store, new Date(clock.now().getTime() + 1000));
  const snapshotId = latest && snapshotIdFromKey(latest.key);
  const view = snapshotId ? await readSnapshot({ store }, snapshotId) : null;
  if (!view) throw notFound('No snapshot yet', 'No snapshot has been taken yet');
  return view;
};

export interface ListSnapshotsOptions {
  limit: number;
  /** The last snapshot_id of the previous page: this page starts just before it. */
  cursor?: string | undefined;
}

/**
 * Newest first. Walks every key once (one list request per thousand snapshots) for `total_count`,
 * keeping only the page in memory.
 */
export const listSnapshots = async ({ store }: Readers, options: ListSnapshotsOptions): Promise<SnapshotListing> => {
  const before = options.cursor ? snapshotKeyFor(options.cursor) : undefined;
  let total = 0;
  let olderThanCursor = 0;
  let newest: string | undefined;
  // The newest `limit` snapshots before the cursor, oldest first, as a ring buffer would hold them.
  const window: { object: StoredObject; snapshotId: string }[] = [];
  let continuationToken: string | undefined;
  do {
    const page = await store.list(KEY_PREFIX, { continuationToken });
    for (const object of page.objects) {
      const snapshotId = snapshotIdFromKey(object.key);
      if (!snapshotId) continue;
      total += 1;
      newest = object.key;
      if (before !== undefined && object.key >= before) continue;
      olderThanCursor += 1;
      window.push({ object, snapshotId });
      if (window.length > options.limit) window.shift();
    }
    continuationToken = page.nextToken;
  } while (continuationToken);
  const snapshots = window.reverse().map(({ object, snapshotId }) => ({
    snapshot_id: snapshotId,
    timestamp: snapshotTimestampOfKey(object.key),
    file_path: store.locationOf(object.key),
    file_size: object.size,
    is_latest: object.key === newest,
  }));
  const more = olderThanCursor > snapshots.length;
  return { snapshots, total_count: total, next_cursor: more ? snapshots.at(-1)!.snapshot_id : null };
};
