/**
 * Each recognizer process talks through files in its own temporary directory, marked with the pid of
 * the service that made it, so a later start can remove the directories of a service killed outright.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const WORK_DIR_PREFIX = 'interview-ops-pocketsphinx-';
const OWNER_FILE = 'owner.pid';

export const makeWorkDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), WORK_DIR_PREFIX));
  writeFileSync(join(dir, OWNER_FILE), String(process.pid));
  return dir;
};

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Removes the work directories whose owning process is gone. */
export const removeAbandonedWorkDirs = (): void => {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(WORK_DIR_PREFIX)) continue;
    const dir = join(tmpdir(), name);
    try {
      const owner = Number(readFileSync(join(dir, OWNER_FILE), 'utf8'));
      if (Number.isInteger(owner) && owner > 0 && !isAlive(owner)) rmSync(dir, { recursive: true, force: true });
    } catch {
      // being created, or not ours to judge
    }
  }
};
