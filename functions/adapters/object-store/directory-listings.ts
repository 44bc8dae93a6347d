/**
 * The directory store's listings, kept between list calls and checked against the directories' own
 * change times. A repeated list of an unchanged folder then costs one stat per directory, not a readdir
 * and a stat per file: on this kind of machine each syscall costs microseconds, and GET /sandbox_snapshots
 * lists its folder on every request.
 *
 * Publishing, replacing or deleting a file renames or unlinks an entry, which changes its directory's
 * modification time. A listing is kept only when every directory in it was last modified at least
 * SETTLE_NS before it was read: file times advance in coarse ticks, so a change in the same tick as the
 * reading could leave the time as it was (git's "racily clean" index entries, solved the same way); a
 * time of whole seconds, as a filesystem that keeps only seconds gives, must be two seconds old.
 * A file edited in place, which no store write does, keeps its listed size and time until its folder
 * changes; head and get always read the file itself.
 *
 * The check is made at the end of the event-loop turn, once for all the list calls of that folder in
 * the turn (shared-per-turn.ts says why).
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { BoundedMap } from './bounded-map';
import { sharedPerTurn } from './shared-per-turn';
import type { StoredObject } from '../../core/ports/object-store';

export interface ListedFile {
  key: string;
  /** The key's UTF-8 bytes: S3 orders keys by them. */
  bytes: Buffer;
  /** Size and time, read when the key is first listed in a page (null once the file is gone). */
  object?: StoredObject | null;
}

interface DirectoryStamp {
  path: string;
  ino: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

interface Listing {
  stamps: DirectoryStamp[];
  files: ListedFile[];
}

const MAX_LISTINGS = 1000;
/** Far longer than a filesystem timestamp tick (at most 10 ms for Linux's coarse clock). */
const SETTLE_NS = 50_000_000n;
/** A time of whole seconds may come from a filesystem that keeps only seconds (or be one by chance): wait out the second. */
const WHOLE_SECOND_SETTLE_NS = 2_000_000_000n;

const settledBy = (readAt: bigint) => ({ mtimeNs }: DirectoryStamp) =>
  mtimeNs < readAt - (mtimeNs % 1_000_000_000n === 0n ? WHOLE_SECOND_SETTLE_NS : SETTLE_NS);

const stampOf = (path: string): DirectoryStamp | null => {
  const info = statSync(path, { bigint: true, throwIfNoEntry: false });
  return info?.isDirectory() ? { path, ino: info.ino, mtimeNs: info.mtimeNs, ctimeNs: info.ctimeNs } : null;
};

const unchanged = (stamp: DirectoryStamp): boolean => {
  const now = stampOf(stamp.path);
  return now !== null && now.ino === stamp.ino && now.mtimeNs === stamp.mtimeNs && now.ctimeNs === stamp.ctimeNs;
};

export class DirectoryListings {
  private readonly listings = new BoundedMap<string, Listing>(MAX_LISTINGS);

  constructor(private readonly root: string) {}

  /**
   * Every file below `directory` whose key does not start with a dot, in S3's key order, as it is at the
   * end of this event-loop turn. Callers share the array: they must not change it.
   */
  readonly filesUnder = sharedPerTurn((directory) => this.readFilesUnder(directory));

  private readFilesUnder(directory: string): ListedFile[] {
    const cached = this.listings.get(directory);
    if (cached && cached.stamps.every(unchanged)) return cached.files;
    this.listings.delete(directory);
    const readAt = BigInt(Date.now()) * 1_000_000n;
    const top = stampOf(directory);
    if (!top) return [];
    const stamps = [top];
    const files: ListedFile[] = [];
    for (const entry of readdirSync(directory, { recursive: true, withFileTypes: true })) {
      const path = join(entry.parentPath, entry.name);
      if (entry.isDirectory()) {
        const stamp = stampOf(path);
        // Removed while being read: the listing cannot be trusted later.
        stamps.push(stamp ?? { path, ino: -1n, mtimeNs: readAt, ctimeNs: readAt });
      } else if (entry.isFile()) {
        const key = relative(this.root, path).split(sep).join('/');
        if (!key.startsWith('.')) files.push({ key, bytes: Buffer.from(key) });
      }
    }
    files.sort((a, b) => Buffer.compare(a.bytes, b.bytes));
    const settled = stamps.every(settledBy(readAt));
    if (settled) {
      this.listings.set(directory, { stamps, files });
    }
    return files;
  }
}
