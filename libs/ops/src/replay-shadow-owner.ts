import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { isProcessRunning } from '@app/platform';

/** Written in each SQLite shadow directory: which process on which host builds it. */
const OWNER_FILE = 'owner.json';

interface ShadowOwner {
  pid: number;
  host: string;
  startedAt: string;
}

/** Marks a shadow directory as this process's (right after creating it). */
export function claimShadowDir(dir: string): void {
  const owner: ShadowOwner = {
    pid: process.pid,
    host: hostname(),
    startedAt: new Date().toISOString(),
  };
  writeFileSync(join(dir, OWNER_FILE), JSON.stringify(owner));
}

/**
 * Removes the shadow directories under `root` (DATA_DIR/replay) whose replay process is gone:
 * killed (SIGKILL, out of memory) before it could remove its shadow, which can be as large as
 * the read database. Only directories claimed by a process of this host that no longer runs;
 * one without an owner file (being created right now, or not a replay's) is left alone, and so
 * is one of another host (its process cannot be checked from here). Returns the names removed.
 */
export function removeOrphanedShadowDirs(root: string): string[] {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return []; // no replay ran here yet
  }
  const removed: string[] = [];
  for (const name of names) {
    const dir = join(root, name);
    let owner: Partial<ShadowOwner>;
    try {
      owner = JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8')) as Partial<ShadowOwner>;
    } catch {
      continue;
    }
    if (owner.host !== hostname() || typeof owner.pid !== 'number') continue;
    if (owner.pid === process.pid || isProcessRunning(owner.pid)) continue;
    rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
    removed.push(name);
  }
  return removed;
}
