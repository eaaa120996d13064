import { decodeCursor } from '@app/read-models';
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
