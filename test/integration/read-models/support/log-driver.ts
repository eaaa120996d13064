import {
  type AccountCommand,
  accountDecider,
  accountStreamId,
  type Actor,
  type SubscriptionCommand,
  subscriptionDecider,
  subscriptionStreamId,
} from '@app/domain';
import { type CommandContext, handleCommand } from '@app/command-handling';
import type { EventStore, RecordedEvent } from '@app/event-store';
import { type EventStores, openEventStores } from '@app/infrastructure';
import { ControlledClock } from '@app/platform';
import { registration } from '../../../support/fixtures';

export const BILLING_ADMIN: Actor = { actorId: 'usr_admin', role: 'billing_admin' };
export const PERSONAL = {
  email: 'ada.lovelace@example.org',
  last4: '4242',
  address: '12 Analytical Engine Row, London',
  comment: 'Too pricey for my small team',
  holdReason: 'Litigation hold requested by counsel Jane Roe',
};

/**
 * Drives real domain commands through the real command path into a real (encrypting) SQLite
 * event log under `dir`, so read-model tests project the events the app would write.
 */
export class LogDriver {
  readonly stores: EventStores;
  readonly clock: ControlledClock;
  private n = 0;

  constructor(dir: string, start = '2026-02-10T09:00:00.000Z') {
    this.stores = openEventStores({
      dataDir: dir,
      eventStoreUrl: undefined,
      readDbUrl: undefined,
      keyEncryptionKey: undefined,
    });
    this.clock = new ControlledClock(start);
  }

  get raw(): EventStore {
    return this.stores.raw;
  }

  now(): string {
    return this.clock.now().toUTC().toISO()!;
  }

  private context(actor: Actor | null, channel: string | null): CommandContext {
    return {
      commandId: null,
      requestHash: null,
      correlationId: `corr-${++this.n}`,
      causationId: null,
      actor,
      channel,
    };
  }

  async subscription(
    id: string,
    command: SubscriptionCommand,
    actor: Actor | null = BILLING_ADMIN,
    channel: string | null = 'self_service',
  ) {
    return handleCommand(
      this.stores.store,
      this.clock,
      subscriptionStreamId(id),
      subscriptionDecider,
      command,
      this.context(actor, channel),
    );
  }

  async account(id: string, command: AccountCommand) {
    return handleCommand(
      this.stores.store,
      this.clock,
      accountStreamId(id),
      accountDecider,
      command,
      this.context(BILLING_ADMIN, 'operator'),
    );
  }

  register(subscriptionId: string, accountId: string, extra: Record<string, unknown> = {}) {
    return this.subscription(subscriptionId, {
      type: 'RegisterSubscription',
      data: { ...registration({ subscriptionId, accountId, now: this.now() }), ...extra },
    });
  }

  cancelSelfService(subscriptionId: string, comment?: string) {
    return this.subscription(subscriptionId, {
      type: 'RequestCancellation',
      data: {
        subscriptionId,
        requestedBy: BILLING_ADMIN,
        channel: 'self_service',
        survey: { reason: 'too_expensive', ...(comment ? { comment } : {}) },
        verification: null,
        now: this.now(),
      },
    });
  }

  cancelSupport(subscriptionId: string) {
    return this.subscription(
      subscriptionId,
      {
        type: 'RequestCancellation',
        data: {
          subscriptionId,
          requestedBy: BILLING_ADMIN,
          channel: 'support',
          survey: { reason: 'other', comment: PERSONAL.comment },
          verification: {
            billingAdminEmail: PERSONAL.email,
            paymentLast4: PERSONAL.last4,
            billingAddress: PERSONAL.address,
          },
          now: this.now(),
        },
      },
      BILLING_ADMIN,
      'support',
    );
  }

  async termEnd(subscriptionId: string, at: string) {
    await this.clock.advanceTo(at);
    return this.subscription(
      subscriptionId,
      { type: 'ProcessTermEnd', data: { subscriptionId, now: this.now() } },
      null,
      'system',
    );
  }

  /** The purge process as the worker runs it: started, one holder, completed. */
  async purge(subscriptionId: string, at: string) {
    await this.clock.advanceTo(at);
    const purgeId = `purge-${subscriptionId}`;
    await this.subscription(
      subscriptionId,
      {
        type: 'StartPurge',
        data: { subscriptionId, purgeId, holders: ['local'], legalHold: false, now: this.now() },
      },
      null,
      'system',
    );
    await this.subscription(
      subscriptionId,
      {
        type: 'RecordHolderPurged',
        data: {
          subscriptionId,
          purgeId,
          receipt: {
            holder: 'local',
            itemsDeleted: 3,
            bytesDeleted: 1234,
            contentHash: 'sha256:abc',
            location: 'file://var/product-data',
            externalReceiptId: null,
          },
          now: this.now(),
        },
      },
      null,
      'system',
    );
    await this.subscription(
      subscriptionId,
      {
        type: 'VerifyPurge',
        data: {
          subscriptionId,
          purgeId,
          verifications: [
            { holder: 'local', remainingItems: 0, method: 'marker_scan', externalReceiptId: null },
          ],
          now: this.now(),
        },
      },
      null,
      'system',
    );
    return this.subscription(
      subscriptionId,
      {
        type: 'CompletePurge',
        data: {
          subscriptionId,
          purgeId,
          keysShredded: [`key-subscription-${subscriptionId}`],
          readModelRowsScrubbed: 2,
          jobsRemoved: 1,
          now: this.now(),
        },
      },
      null,
      'system',
    );
  }

  placeHold(accountId: string) {
    return this.account(accountId, {
      type: 'PlaceLegalHold',
      data: {
        accountId,
        holdId: `hold-${accountId}`,
        requestedBy: BILLING_ADMIN,
        reason: PERSONAL.holdReason,
        now: this.now(),
      },
    });
  }

  async all(): Promise<RecordedEvent[]> {
    const out: RecordedEvent[] = [];
    for (;;) {
      const page = await this.stores.raw.readAll({
        ...(out.length ? { after: out.at(-1)!.position } : {}),
        maxCount: 1000,
      });
      if (page.length === 0) return out;
      out.push(...page);
    }
  }

  async close(): Promise<void> {
    await this.stores.raw.close();
    await this.stores.keys.close();
  }
}
