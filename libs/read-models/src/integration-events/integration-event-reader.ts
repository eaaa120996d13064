import type { ReadDb } from '../database/read-db';
import { readCheckpoint } from '../read-store';
import type { IntegrationEvent, IntegrationEventType } from './integration-event';

export interface IntegrationEventQuery {
  /** Exclusive: the position of the last event the reader has (null: from the start). */
  after: bigint | null;
  /** Only these types (empty or absent: every type). */
  types?: readonly IntegrationEventType[] | undefined;
  limit: number;
}

export interface IntegrationEventPage {
  items: IntegrationEvent[];
  /** Where the next page starts (the `after` to send next): never before a returned item. */
  nextCursor: string;
}

/**
 * Pages of integration events in log order, keyset on the position. Only rows up to the
 * projector's checkpoint are read: the projector writes a batch's rows and its checkpoint in one
 * transaction, in log order, so everything up to the checkpoint is there and nothing past it is
 * visible half-written; a cursor therefore never skips an event nor repeats one. When a page is
 * not full, the cursor moves to the checkpoint (past events of other types) so that a filtered
 * reader does not scan the same rows again.
 */
export class IntegrationEventReader {
  constructor(private readonly readDb: ReadDb) {}

  async page(q: IntegrationEventQuery): Promise<IntegrationEventPage> {
    const checkpoint = await this.checkpoint();
    const after = q.after ?? 0n;
    if (checkpoint === null || checkpoint <= after) return { items: [], nextCursor: String(after) };
    let query = this.readDb.db
      .selectFrom('rm_integration_events')
      .select(['position', 'body'])
      .where('position', '>', this.readDb.pos(after))
      .where('position', '<=', this.readDb.pos(checkpoint));
    if (q.types && q.types.length > 0) query = query.where('type', 'in', [...q.types]);
    const rows = await query.orderBy('position', 'asc').limit(q.limit).execute();
    const items = rows.map((r) => JSON.parse(r.body) as IntegrationEvent);
    const full = rows.length === q.limit;
    return {
      items,
      nextCursor: full ? String(rows[rows.length - 1]!.position) : String(checkpoint),
    };
  }

  /** The position the integration events are complete up to (null: nothing projected yet). */
  checkpoint(): Promise<bigint | null> {
    return readCheckpoint(this.readDb.db);
  }
}
