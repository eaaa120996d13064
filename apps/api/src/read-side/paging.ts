import { decodeCursor, encodeCursor } from '@app/read-models';
import { ApiError } from '../http/api-error';

/** Instants compare as text in the read model: normalise to UTC with milliseconds. */
export const utc = (iso: string | undefined): string | undefined =>
  iso === undefined ? undefined : new Date(iso).toISOString();

/** The position a cursor stands for; 400 for a cursor this route did not issue. */
export function afterCursor(kind: string, cursor: string | undefined): bigint | null {
  if (cursor === undefined) return null;
  const position = decodeCursor(kind, cursor);
  if (position === null)
    throw new ApiError('VALIDATION_FAILED', 'The cursor is not one this route issued.', {
      issues: [{ path: 'query.cursor', message: 'invalid cursor' }],
    });
  return position;
}

/**
 * A page of a keyset-paginated query. `nextCursor` points after the page's last item whenever
 * the page has items, so a client can always resume from where it stopped (also at the current
 * end of the log, to tail it); it is null only on an empty page. `hasMore` says whether more
 * items existed when the page was read: a client that wants "everything now" stops when it is
 * false, one that follows the log keeps the last cursor and asks again later.
 */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
  hasMore: boolean;
}

/** Builds the page from `limit + 1` rows (the extra one only tells whether there is more). */
export async function toPage<R extends { position: number | string | bigint }, T>(
  kind: string,
  rows: readonly R[],
  limit: number,
  map: (rows: R[]) => T[] | Promise<T[]>,
): Promise<Page<T>> {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    items: await map(page),
    nextCursor: last ? encodeCursor(kind, BigInt(last.position)) : null,
    hasMore: rows.length > limit,
  };
}
