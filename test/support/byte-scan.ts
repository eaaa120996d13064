import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Every regular file under a directory, recursively. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) out.push(...filesUnder(p));
    else if (st.isFile()) out.push(p);
  }
  return out;
}

/**
 * Looks for each needle's raw bytes (UTF-8, and UTF-16LE in case a file stores text that way) in
 * every file under `dir`: SQLite databases and their -wal/-shm files, Redis AOF, holder files.
 */
export function scanBytes(
  dir: string,
  needles: readonly string[],
): { file: string; needle: string }[] {
  const hits: { file: string; needle: string }[] = [];
  for (const file of filesUnder(dir)) {
    const bytes = readFileSync(file);
    for (const needle of needles) {
      if (
        bytes.includes(Buffer.from(needle, 'utf8')) ||
        bytes.includes(Buffer.from(needle, 'utf16le'))
      )
        hits.push({ file, needle });
    }
  }
  return hits;
}
