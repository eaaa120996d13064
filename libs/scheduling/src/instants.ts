import { parseInstant } from '@app/domain';

/**
 * Epoch milliseconds of a domain instant. Instants are canonical ISO 8601 strings, which
 * Date.parse reads exactly and far faster than luxon (this runs several times per job); anything
 * Date.parse cannot read goes through the domain's parser, which throws a clear error.
 */
export function epochMs(iso: string): number {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? parseInstant(iso).toMillis() : ms;
}
