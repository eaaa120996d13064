import type { Upcaster } from '@app/event-store';

/**
 * Upcasters for event shapes that changed after they were written (none yet: every type is at
 * its first shape). Add one per change, keyed on the old type name or schemaVersion.
 */
export const UPCASTERS: readonly Upcaster[] = [];
