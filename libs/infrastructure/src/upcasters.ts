import type { Upcaster } from '@app/event-store';

/**
 * Upcasters for event shapes that changed after they were written (none yet: every type is at
 * its first shape). Add one per change, keyed on the old type name or schemaVersion.
 */
export const UPCASTERS: readonly Upcaster[] = [];

/**
 * Where UPCASTERS is defined, for threads that load it themselves (the replay's fold threads:
 * functions cannot be handed to another thread).
 */
export const UPCASTERS_MODULE = { file: __filename, name: 'UPCASTERS' } as const;
