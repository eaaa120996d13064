import { open, stat } from 'node:fs/promises';

/** Current size of a file, 0 if it does not exist yet (redis creates its log lazily). */
export async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/**
 * The last `maxBytes` written to `path` after byte offset `from`, so an error shows this run's
 * log lines rather than those of earlier runs appended to the same file.
 */
export async function readTail(path: string, from = 0, maxBytes = 4096): Promise<string> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return '';
  }
  try {
    const size = (await handle.stat()).size;
    const start = Math.max(from, size - maxBytes);
    const length = Math.max(0, size - start);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, start);
    return buffer.toString('utf8');
  } finally {
    await handle.close();
  }
}

/** Keeps only the last `limit` characters of a stream (redis-server's stderr). */
export class TailBuffer {
  private text = '';

  constructor(private readonly limit = 4096) {}

  push(chunk: Buffer | string): void {
    this.text = (this.text + chunk.toString()).slice(-this.limit);
  }

  toString(): string {
    return this.text;
  }
}
