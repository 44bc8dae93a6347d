/**
 * A small real filesystem (tmpfs) to fill up: writes past its size fail with ENOSPC exactly as on a full
 * disk. Mounting needs root (CAP_SYS_ADMIN); `available()` says whether this machine allows it.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, rmdir, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface SmallDisk {
  path: string;
  /** Bytes a new file can still take. */
  free(): Promise<number>;
  /** Grows or shrinks a filler file (a top-level dot file, which the directory store ignores) so `bytes` stay free. */
  leaveFree(bytes: number): Promise<void>;
  unmount(): Promise<void>;
}

const FILLER = '.filler';

export const mountSmallDisk = async (parent: string, sizeBytes: number): Promise<SmallDisk> => {
  const path = join(parent, 'data');
  await mkdir(path);
  await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0755`, 'tmpfs', path]);
  const free = async () => {
    const stats = await statfs(path);
    return stats.bavail * stats.bsize;
  };
  let fillerBytes = 0;
  return {
    path,
    free,
    async leaveFree(bytes) {
      const target = fillerBytes + (await free()) - bytes;
      if (target < 0) throw new Error(`cannot leave ${bytes} bytes free: only ${fillerBytes + (await free())} can be freed`);
      await writeFile(join(path, FILLER), Buffer.alloc(target, 0xa5));
      fillerBytes = target;
    },
    async unmount() {
      await run('umount', [path]).catch(() => run('umount', ['-l', path]));
      await rmdir(path).catch(() => undefined);
    },
  };
};

/** Whether this process may mount a tmpfs (root in a container that allows it). */
export const canMountSmallDisk = async (): Promise<boolean> => {
  if (process.getuid?.() !== 0) return false;
  const parent = await mkdtemp(join(tmpdir(), 'interview-ops-mount-probe-'));
  try {
    const disk = await mountSmallDisk(parent, 64 * 1024);
    await disk.unmount();
    return true;
  } catch {
    return false;
  } finally {
    await rm(parent, { recursive: true, force: true });
  }
};
