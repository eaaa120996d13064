import type { RecordedEvent, Upcaster } from '@app/event-store';

/** A module exporting an array of upcasters, loaded by each bulk-build thread (functions do not cross). */
export interface UpcasterModule {
  /** Absolute path of the module (TypeScript from sources, JavaScript from a build). */
  file: string;
  /** Name of the export: `readonly Upcaster[]`. */
  name: string;
}

/**
 * The upcasters of a module, applied in order (as `composeUpcasters` does); undefined when the
 * list is empty: the fold then skips the upcasting step altogether.
 */
export function loadUpcasters(m: UpcasterModule): Upcaster | undefined {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a module named at run time
  const list = (require(m.file) as Record<string, readonly Upcaster[] | undefined>)[m.name];
  if (!Array.isArray(list)) throw new Error(`${m.file} exports no upcaster list ${m.name}`);
  // Typed again: Array.isArray narrows a readonly array to any[].
  const upcasters: readonly Upcaster[] = list;
  if (upcasters.length === 0) return undefined;
  return (event: RecordedEvent) => upcasters.reduce((e, up) => up(e), event);
}
