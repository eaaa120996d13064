import { CheckpointStore } from './checkpoint-store.port';

/** For unit tests and throw-away projections; nothing survives the process. */
export class InMemoryCheckpointStore implements CheckpointStore {
  private readonly positions = new Map<string, bigint>();

  async load(name: string): Promise<bigint | null> {
    return this.positions.get(name) ?? null;
  }

  async save(name: string, position: bigint): Promise<void> {
    this.positions.set(name, position);
  }

  async reset(name: string): Promise<void> {
    this.positions.delete(name);
  }

  async close(): Promise<void> {}
}
