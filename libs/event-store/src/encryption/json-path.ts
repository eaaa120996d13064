/**
 * Dotted paths into event data (`verification.billingAdminEmail`). A path that crosses an array
 * applies to every element (`contacts.email` = each contact's email), so personal data inside
 * lists is not silently left in plaintext. Paths never contain array indexes.
 */

type Json = unknown;

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Replaces every value found at `path` (undefined values are skipped: nothing to protect) with
 * `replace(value)`, in place. The caller passes a copy it owns.
 */
export function replaceAtPath(
  root: Record<string, unknown>,
  path: string,
  replace: (value: Json) => Json,
): void {
  const segments = path.split('.');
  const visit = (node: unknown, i: number): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item, i);
      return;
    }
    if (!isPlainObject(node)) return;
    const key = segments[i];
    if (key === undefined || !Object.prototype.hasOwnProperty.call(node, key)) return;
    const value = node[key];
    if (i === segments.length - 1) {
      if (value !== undefined) node[key] = replace(value);
    } else {
      visit(value, i + 1);
    }
  };
  visit(root, 0);
}

/**
 * Walks all values (objects and arrays) and lets `visit` replace those it recognises; `visit`
 * resolves to undefined to keep walking into a value (JSON has no undefined, so no clash).
 * `path` uses object keys only, as above.
 */
export async function mapValuesDeep(
  root: Record<string, unknown>,
  visit: (value: unknown, path: string) => Promise<unknown>,
): Promise<Record<string, unknown>> {
  const walk = async (node: unknown, path: string): Promise<unknown> => {
    if (path !== '') {
      const replaced = await visit(node, path);
      if (replaced !== undefined) return replaced;
    }
    if (Array.isArray(node)) {
      const out: unknown[] = [];
      for (const item of node) out.push(await walk(item, path));
      return out;
    }
    if (isPlainObject(node)) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(node))
        out[k] = await walk(v, path === '' ? k : `${path}.${k}`);
      return out;
    }
    return node;
  };
  return (await walk(root, '')) as Record<string, unknown>;
}
