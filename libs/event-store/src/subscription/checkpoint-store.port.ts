/**
 * Where a catch-up subscription remembers the position of the last event it fully handled.
 * Positions are bigint in memory and decimal strings in storage (see event-store.port.ts).
 */
export interface CheckpointStore {
  /** The stored position, or null when the subscription has never checkpointed. */
  load(name: string): Promise<bigint | null>;
  save(name: string, position: bigint): Promise<void>;
  /** Forgets the checkpoint, so the subscription replays the whole log (rebuilds). */
  reset(name: string): Promise<void>;
  close(): Promise<void>;
}
