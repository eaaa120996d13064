import { z } from 'zod';
import { HttpProductDataHolder } from './http-product-data-holder';
import { LocalProductDataStore } from './local-product-data.store';
import type { ProductDataHolder } from './product-data-holder.port';

/**
 * DATA_HOLDERS: JSON `{ "<productId>" | "*": [ { "name": "recordings", "kind": "http", "url": "https://…",
 * "secretEnv": "RECORDINGS_PURGE_SECRET" } | { "name": "local", "kind": "local" } ] }`.
 * Unset: every product's data is in the embedded local store. Secrets are read from the named
 * environment variables, never written in the JSON itself.
 */
const holderSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('local'), name: z.literal('local').default('local') }),
  z.strictObject({
    kind: z.literal('http'),
    name: z.string().regex(/^[a-z0-9-]{1,40}$/),
    url: z.url(),
    verifyUrl: z.url().optional(),
    secretEnv: z.string().min(1),
    timeoutMs: z.number().int().positive().optional(),
    attempts: z.number().int().min(1).max(10).optional(),
  }),
]);
const registrySchema = z.record(z.string(), z.array(holderSchema).min(1));

export class HolderRegistry {
  constructor(private readonly byProduct: ReadonlyMap<string, readonly ProductDataHolder[]>) {}

  static fromEnvironment(
    local: LocalProductDataStore,
    env: NodeJS.ProcessEnv = process.env,
  ): HolderRegistry {
    const raw = env['DATA_HOLDERS']?.trim();
    if (!raw) return new HolderRegistry(new Map([['*', [local]]]));
    const parsed = registrySchema.parse(JSON.parse(raw));
    const map = new Map<string, ProductDataHolder[]>();
    for (const [product, holders] of Object.entries(parsed)) {
      map.set(
        product,
        holders.map((h) => {
          if (h.kind === 'local') return local;
          const secret = env[h.secretEnv];
          if (!secret)
            throw new Error(`DATA_HOLDERS: ${h.name} needs its secret in ${h.secretEnv}`);
          return new HttpProductDataHolder({
            name: h.name,
            url: h.url,
            verifyUrl: h.verifyUrl,
            secret,
            timeoutMs: h.timeoutMs,
            attempts: h.attempts,
          });
        }),
      );
    }
    return new HolderRegistry(map);
  }

  holdersFor(productId: string): readonly ProductDataHolder[] {
    return this.byProduct.get(productId) ?? this.byProduct.get('*') ?? [];
  }

  holder(productId: string, name: string): ProductDataHolder | undefined {
    return this.holdersFor(productId).find((h) => h.name === name);
  }
}
