/**
 * What a directory holds, file by file, to compare before and after a run: every file's size, content
 * hash, modification time and access time. The access time is the read detector: set older than the
 * modification time, it moves on the next read under Linux's default `relatime`.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, utimes, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';

export interface FileFacts {
  kind: 'file' | 'directory' | 'symlink' | 'other';
  size: number;
  sha256: string | null;
  mtimeMs: number;
  atimeMs: number;
}

export type FileTree = Map<string, FileFacts>;

/** Reads a file without moving its access time (O_NOATIME: the owner's or root's privilege), so reading a tree never disturbs it. */
const readWithoutTouching = async (path: string): Promise<Buffer> => {
  const file = await open(path, constants.O_RDONLY | (constants.O_NOATIME ?? 0)).catch(() => open(path, 'r'));
  try {
    return await file.readFile();
  } finally {
    await file.close();
  }
};

/** Every entry under `root`, keyed by its path relative to `root` with "/" separators. */
export const readFileTree = async (root: string, options: { skip?: (path: string) => boolean } = {}): Promise<FileTree> => {
  const tree: FileTree = new Map();
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  for (const entry of entries) {
    const absolute = join(entry.parentPath, entry.name);
    const path = relative(root, absolute).split(sep).join('/');
    if (options.skip?.(path)) continue;
    try {
      const info = await lstat(absolute);
      const kind = info.isFile() ? 'file' : info.isDirectory() ? 'directory' : info.isSymbolicLink() ? 'symlink' : 'other';
      tree.set(path, {
        kind,
        size: info.size,
        sha256:
          kind === 'file'
            ? createHash('sha256')
                .update(await readWithoutTouching(absolute))
                .digest('hex')
            : null,
        mtimeMs: info.mtimeMs,
        atimeMs: info.atimeMs,
      });
    } catch (error) {
      // A temporary file renamed away between the listing and the look is simply not there.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return tree;
};

/** Files whose bytes any hostile request might try to reach. */
export const SENTINEL_MARKER = 'SENTINEL-5b1e2f9c-not-for-callers';

const SENTINEL_FILES: Record<string, string> = {
  'secret.txt': `${SENTINEL_MARKER} secret`,
  'etc/passwd': `${SENTINEL_MARKER} root:x:0:0`,
  // Shaped like objects the service reads, so a traversal that reached them would be served as one.
  'snapshots/snapshot_20240101_000000.json': JSON.stringify({ marker: SENTINEL_MARKER, snapshot_id: 'snapshot_1704067200' }),
  'transcripts/fixture-session/fixture-session_1.txt': `${SENTINEL_MARKER} transcript`,
  'audio/fixture-session/1.wav': `${SENTINEL_MARKER} audio`,
  '.pglite/PG_VERSION': `${SENTINEL_MARKER} 15`,
};

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Writes the sentinel files and backdates them: modified two days ago, accessed three days ago, so a
 * read of any of them moves its access time (relatime updates an access time older than the mtime).
 */
export const plantSentinel = async (root: string): Promise<void> => {
  const now = Date.now();
  for (const [path, content] of Object.entries(SENTINEL_FILES)) {
    const absolute = join(root, path);
    await mkdir(dirname(absolute), { recursive: true });
    await writeFile(absolute, content);
    await utimes(absolute, new Date(now - 3 * DAY_MS), new Date(now - 2 * DAY_MS));
  }
};

/** Paths added, removed or changed (content, mtime or atime) between two readings of a tree. */
export const treeChanges = (
  before: FileTree,
  after: FileTree,
  compare: (keyof FileFacts)[] = ['kind', 'size', 'sha256', 'mtimeMs', 'atimeMs'],
) => {
  const added = [...after.keys()].filter((path) => !before.has(path));
  const removed = [...before.keys()].filter((path) => !after.has(path));
  const changed = [...before.keys()].filter((path) => {
    const was = before.get(path)!;
    const now = after.get(path);
    if (!now) return false;
    // A directory's times move whenever its listing is read; its files speak for it.
    const fields = was.kind === 'directory' ? compare.filter((field) => field === 'kind') : compare;
    return fields.some((field) => was[field] !== now[field]);
  });
  return { added, removed, changed };
};
