// The cipher's module, not @app/event-store: the replay's fold threads load this file, and the
// library's index would bring the drivers of every store with it.
import { ERASED, isEncryptedValue } from '../../../event-store/src/encryption/personal-data-cipher';

/**
 * Replaces every encrypted personal field (`{ $pd: 1, … }`) of stored event data with "[erased]",
 * at any depth. Returns the new data and how many fields it replaced. What a scrubbed row shows
 * is exactly what a reader sees after the key is shredded: the structure stays, the values go.
 */
export function scrubEncryptedFields(data: unknown): { data: unknown; replaced: number } {
  let replaced = 0;
  const walk = (node: unknown): unknown => {
    if (isEncryptedValue(node)) {
      replaced++;
      return ERASED;
    }
    if (Array.isArray(node)) return node.map(walk);
    if (node !== null && typeof node === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(node as Record<string, unknown>)) out[k] = walk(v);
      return out;
    }
    return node;
  };
  const out = walk(data);
  return { data: out, replaced };
}

/** Fast test on the stored JSON text: does it hold any encrypted field? */
export const holdsEncryptedFields = (json: string): boolean => json.includes('"$pd"');
