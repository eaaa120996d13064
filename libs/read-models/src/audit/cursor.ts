/**
 * Opaque page cursors: base64url of `{"v":1,"k":"<kind>","p":"<position>"}`. Keyset pagination on
 * the log position, which only grows, so a page never repeats or skips an item while events are
 * appended (new events land after every cursor). The kind stops a purge cursor from being used
 * on the audit route.
 */
export function encodeCursor(kind: string, position: bigint): string {
  return Buffer.from(JSON.stringify({ v: 1, k: kind, p: position.toString() }), 'utf8').toString(
    'base64url',
  );
}

/** The position, or null when the cursor is not one of ours (the caller answers 400). */
export function decodeCursor(kind: string, cursor: string): bigint | null {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) return null;
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (typeof value !== 'object' || value === null) return null;
    const { v, k, p } = value as Record<string, unknown>;
    if (v !== 1 || k !== kind || typeof p !== 'string' || !/^\d{1,20}$/.test(p)) return null;
    return BigInt(p);
  } catch {
    return null;
  }
}
