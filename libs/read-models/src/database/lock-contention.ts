/**
 * True when a read-database write failed only because another writer held the lock for longer
 * than the busy timeout: SQLITE_BUSY (e.g. an `ops replay` switch-over, which copies every table
 * in one transaction: about 7 s at a million events) or PostgreSQL's lock_not_available (55P03)
 * and deadlock_detected (40P01). Expected now and then, and retried: not an error for an operator.
 */
export function isLockContention(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  return code.startsWith('SQLITE_BUSY') || code === '55P03' || code === '40P01';
}
