import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh directory under the OS temp dir; remove it with removeTmpDir. */
export function makeTmpDir(prefix = 'sub-eol-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeTmpDir(dir: string): void {
  // maxRetries: a just-closed SQLite handle or a killed child can keep a file busy for a moment.
  rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
}

/**
 * Gives each test of the enclosing describe its own empty temp dir, removed after the test.
 * Call at describe level; read the dir inside a test with the returned function.
 */
export function useTmpDir(prefix?: string): () => string {
  let dir: string | undefined;
  beforeEach(() => {
    dir = makeTmpDir(prefix);
  });
  afterEach(() => {
    if (dir) removeTmpDir(dir);
    dir = undefined;
  });
  return () => {
    if (!dir) throw new Error('useTmpDir: no temp dir outside a test');
    return dir;
  };
}
