import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { isProcessRunning } from '@app/platform';
import { REMOVED_MARK, removeGenerationDirectory } from '@app/read-models';

/** Written in each SQLite generation directory: which process on which host builds it. */
const OWNER_FILE = 'owner.json';
/**
 * A small SQLite file in each generation directory whose write lock the replay building it holds
 * until the generation is live or removed. The operating system releases the lock when that process ends, however it ends, so
 * the lock tells whether the replay is alive where a pid cannot: from another host or container
 * sharing the volume, or after the pid was given to another process.
 */
const LOCK_FILE = 'owner.lock';

interface GenerationOwner {
  pid: number;
  host: string;
  startedAt: string;
}

/** A generation directory this process builds: its lock is held until remove() or release(). */
export interface GenerationDir {
  readonly path: string;
  /** Removes the directory, then releases its lock. */
  remove(): void;
  /** Releases the lock and keeps the directory (the generation is live: the pointer holds it). */
  release(): void;
}

/**
 * Creates the generation directory `root/name` and claims it: takes the lock, then writes the owner
 * file. In that order, a directory with an owner file is locked from then on for as long as its
 * replay runs. A directory that cannot be claimed is removed at once (unclaimed, no later replay
 * would remove it).
 */
export function createGenerationDir(root: string, name: string): GenerationDir {
  const path = join(root, name);
  mkdirSync(path, { recursive: true });
  let lock: Database.Database | null = null;
  try {
    lock = new Database(join(path, LOCK_FILE));
    // In exclusive locking mode SQLite keeps the lock of a write until the connection closes.
    lock.pragma('locking_mode = EXCLUSIVE');
    lock.pragma('journal_mode = MEMORY');
    lock.exec('CREATE TABLE IF NOT EXISTS owner (pid INTEGER)');
    const owner: GenerationOwner = {
      pid: process.pid,
      host: hostname(),
      startedAt: new Date().toISOString(),
    };
    writeFileSync(join(path, OWNER_FILE), JSON.stringify(owner));
  } catch (error) {
    lock?.close();
    removeDir(path);
    throw error;
  }
  const held = lock;
  return {
    path,
    remove() {
      removeDir(path);
      held.close();
    },
    release() {
      held.close();
    },
  };
}

const removeDir = (path: string): void => removeGenerationDirectory(path);

/**
 * Whether the replay that claimed a directory still holds its lock. Anything but a lock taken
 * (an error other than SQLITE_BUSY included) counts as held: a generation is removed only when its
 * replay is known to be gone.
 */
function isLockHeld(file: string): boolean {
  let db: Database.Database | null = null;
  try {
    db = new Database(file, { fileMustExist: true, timeout: 0 });
    db.exec('BEGIN IMMEDIATE');
    db.exec('ROLLBACK');
    return false;
  } catch {
    return true;
  } finally {
    db?.close();
  }
}

/** A replay of a version before the lock left only its owner file: its pid, on this host. */
function isOwnerRunning(owner: Partial<GenerationOwner>): boolean {
  if (owner.host !== hostname() || typeof owner.pid !== 'number') return true;
  return owner.pid === process.pid || isProcessRunning(owner.pid);
}

/**
 * Removes the generation directories under `root` (DATA_DIR/read-models; DATA_DIR/replay for
 * the shadows of earlier versions) that no replay builds and readers do not use: a replay killed
 * (SIGKILL, out of memory) before it could remove its generation, which can be as large as the
 * read database, or a generation replaced by a replay killed before it dropped it. A directory
 * is removed when its lock can be taken (from any host sharing the volume) and `isCurrent` (the
 * pointer, read after the lock: a replay moves it before it lets go of its lock) says no. One
 * without an owner file (being created right now, or not a replay's) is left alone. A directory
 * of an earlier version, without a lock file, is removed only when its process no longer runs on
 * this host. Returns the names removed.
 */
export async function removeOrphanedGenerationDirs(
  root: string,
  isCurrent: (name: string) => Promise<boolean> = async () => false,
): Promise<string[]> {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return []; // no replay ran here yet
  }
  const removed: string[] = [];
  for (const name of names) {
    const dir = join(root, name);
    // A removal a killed process did not finish.
    if (name.includes(REMOVED_MARK)) {
      rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
      removed.push(name);
      continue;
    }
    let owner: Partial<GenerationOwner>;
    try {
      owner = JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8')) as Partial<GenerationOwner>;
    } catch {
      continue;
    }
    const lockFile = join(dir, LOCK_FILE);
    if (existsSync(lockFile) ? isLockHeld(lockFile) : isOwnerRunning(owner)) continue;
    if (await isCurrent(name)) continue;
    removeDir(dir);
    removed.push(name);
  }
  return removed;
}
