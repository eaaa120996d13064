import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import {
  type AccountCommand,
  accountDecider,
  accountStreamId,
  type Actor,
  DomainError,
  type SubscriptionCommand,
  type SubscriptionState,
  subscriptionDecider,
  subscriptionStreamId,
} from '@app/domain';
import { type EventStore, type NewEvent, SqliteEventStore } from '@app/event-store';
import { openEventStores } from '@app/infrastructure';
import { loadConfig } from '@app/platform';

const PLANS = [
  { kind: 'monthly' },
  { kind: 'annual' },
  { kind: 'fixed_term', termMonths: 15 },
  { kind: 'trial', trialDays: 14 },
] as const;
const PRODUCTS = [
  'goto-meeting',
  'goto-webinar',
  'openvoice',
  'goto-connect',
  'goto-room',
  'rescue',
];
const admin: Actor = { actorId: 'usr_admin', role: 'billing_admin' };
const plain: Actor = { actorId: 'usr_plain', role: 'user' };

const addDays = (iso: string, days: number): string =>
  new Date(Date.parse(iso) + days * 86_400_000).toISOString();

/**
 * Every input of the subscription deciders but the ids is a function of n modulo one of
 * 300 (term start), 4 (plan, purge), 2 (time zone, term end), 7 (contract), 6 (product),
 * 3 (refused attempt) and 10 (licences): n mod 2100 (their lcm) is a subscription's "shape".
 */
const SHAPES = 2100;
/** Placeholder ids of a shape's template (no id of the seed contains them). */
const SUB_TOKEN = 'sub_SEEDTEMPLATE';
const ACC_TOKEN = 'acc_SEEDTEMPLATE';

export interface SeedOptions {
  /** Subscriptions per round (default 256); seeding stops after the round that reaches the target. */
  concurrency?: number;
  /** Subscription ids are `<prefix>_<n>` (default `sub`). */
  prefix?: string;
  /** Every n-th subscription (and its account's hold) goes through the encrypting store. */
  encryptEvery?: number;
  /**
   * Run the real deciders once per shape (see SHAPES, with placeholder ids) and write the other
   * subscriptions of that shape from the same decisions with their ids put in: the same events,
   * without the calendar arithmetic each time. Every `verifyEvery`-th subscription (default 97)
   * is decided for real as well and must come out identical. Default false: every subscription
   * is decided for real.
   */
  reuseDecisions?: boolean;
  verifyEvery?: number;
  /**
   * Order of the raw (directly written) events in the log: `stream` (default) writes each
   * subscription's events together; `time` writes them in recordedAt order across subscriptions,
   * as a log written over the years would hold them (a subscription's registration, cancellation,
   * expiry and purge far apart). Subscriptions through the encrypting store come first.
   */
  order?: 'stream' | 'time';
}

/** An event ready for the log: data and metadata as the store serialises them. */
interface SerializedEvent {
  type: string;
  data: string;
  metadata: string;
}

/**
 * Appends a realistic log through the real deciders: subscriptions of every plan kind and several
 * products, refusals (D6), cancellations with surveys (encrypted personal fields), term ends,
 * purges, and legal holds on some accounts, until at least `targetEvents` events exist.
 * Returns the number of events and subscriptions written. Subscription `sub_<n>` belongs to
 * account `acc_<n/5>`.
 *
 * Subscriptions whose personal fields are encrypted go through `stores.store` (a data key per
 * subscription). The others are written to the raw log; on SQLite straight into its table in
 * large transactions (one connection of our own, the rows the store would write: same columns,
 * `JSON.stringify` of data and metadata, revisions from 0), which is what makes a million events
 * take seconds rather than minutes.
 */
export async function seedLog(
  stores: { store: EventStore; raw?: EventStore },
  targetEvents: number,
  options: SeedOptions = {},
): Promise<{ events: number; subscriptions: number }> {
  const encryptEvery = options.encryptEvery ?? 1;
  const prefix = options.prefix ?? 'sub';
  const concurrency = options.concurrency ?? 256;
  const verifyEvery = options.verifyEvery ?? 97;
  const direct =
    stores.raw instanceof SqliteEventStore
      ? openDirect(stores.raw.filePath, options.order ?? 'stream')
      : null;
  const templates = new Map<number, SerializedEvent[]>();
  const pending: Array<{ streamId: string; events: SerializedEvent[] }> = [];
  let pendingEvents = 0;

  const decided = (n: number, subscriptionId: string, accountId: string): SerializedEvent[] =>
    decideSubscription(n, subscriptionId, accountId).map(serialize);
  const subscriptionEvents = (n: number): SerializedEvent[] => {
    const subscriptionId = `${prefix}_${n}`;
    const accountId = `acc_${Math.floor(n / 5)}`;
    if (!options.reuseDecisions) return decided(n, subscriptionId, accountId);
    let template = templates.get(n % SHAPES);
    if (!template) {
      template = decided(n, SUB_TOKEN, ACC_TOKEN);
      templates.set(n % SHAPES, template);
    }
    const put = (s: string) =>
      s.replaceAll(SUB_TOKEN, subscriptionId).replaceAll(ACC_TOKEN, accountId);
    const out = template.map((e) => ({
      type: e.type,
      data: put(e.data),
      metadata: put(e.metadata),
    }));
    if (n % verifyEvery === 0) {
      const real = JSON.stringify(decided(n, subscriptionId, accountId));
      if (real !== JSON.stringify(out))
        throw new Error(
          `seedLog: reused decisions differ from the deciders' for ${subscriptionId}`,
        );
    }
    return out;
  };

  const flush = (): void => {
    if (!direct || pending.length === 0) return;
    direct.write(pending);
    pending.length = 0;
    pendingEvents = 0;
  };

  let events = 0;
  let i = 0;
  try {
    while (events < targetEvents) {
      const encrypted: Promise<unknown>[] = [];
      for (const n of Array.from({ length: concurrency }, () => i++)) {
        // Personal fields are encrypted through the encrypting store; the raw store (when given)
        // takes the other subscriptions, faster (no key per subscription).
        const raw = stores.raw && n % encryptEvery !== 0 ? stores.raw : null;
        const streams: Array<{ streamId: string; events: SerializedEvent[] }> = [
          { streamId: subscriptionStreamId(`${prefix}_${n}`), events: subscriptionEvents(n) },
        ];
        if (n % 50 === 0) {
          const accountId = `acc_${Math.floor(n / 5)}-${prefix}`;
          streams.push({ streamId: accountStreamId(accountId), events: holdEvents(n, accountId) });
        }
        for (const s of streams) {
          events += s.events.length;
          if (raw && direct) {
            pending.push(s);
            pendingEvents += s.events.length;
          } else {
            encrypted.push(
              (raw ?? stores.store).appendToStream(s.streamId, s.events.map(deserialize), {
                expectedRevision: 'no_stream',
              }),
            );
          }
        }
      }
      await Promise.all(encrypted);
      if (pendingEvents >= 20_000) flush();
    }
    flush();
    direct?.finish();
  } finally {
    direct?.close();
  }
  return { events, subscriptions: i };
}

/** The subscription's commands through the real decider: its events, in order. */
function decideSubscription(n: number, subscriptionId: string, accountId: string): NewEvent[] {
  const termStart = addDays('2025-01-01T00:00:00.000Z', n % 300);
  let state: SubscriptionState = subscriptionDecider.initialState();
  const out: NewEvent[] = [];
  const run = (command: SubscriptionCommand, actor: Actor | null, channel: string): void => {
    let produced;
    try {
      produced = subscriptionDecider.decide(command, state);
    } catch (error) {
      if (error instanceof DomainError) return;
      throw error;
    }
    const now = (command.data as { now: string }).now;
    for (const e of produced) {
      state = subscriptionDecider.evolve(state, e);
      out.push({
        type: e.type,
        data: e.data,
        metadata: {
          correlationId: `corr-${subscriptionId}-${out.length}`,
          causationId: null,
          commandId: null,
          actor,
          channel,
          recordedAt: now,
          schemaVersion: 1,
        },
      });
    }
  };
  const plan = PLANS[n % PLANS.length]!;
  run(
    {
      type: 'RegisterSubscription',
      data: {
        subscriptionId,
        accountId,
        productId: PRODUCTS[n % PRODUCTS.length]!,
        plan,
        termStart,
        timeZone: n % 2 ? 'Europe/Rome' : 'America/New_York',
        contract: n % 7 === 0,
        autoRenew: true,
        outstandingBalance: null,
        assignedLicences: n % 10,
        now: termStart,
      },
    },
    admin,
    'support',
  );
  const mid = addDays(termStart, 10);
  if (n % 3 === 0)
    run(
      {
        type: 'RequestCancellation',
        data: { subscriptionId, requestedBy: plain, channel: 'self_service', now: mid },
      },
      plain,
      'self_service',
    );
  run(
    {
      type: 'RequestCancellation',
      data: {
        subscriptionId,
        requestedBy: admin,
        channel: 'support',
        survey: { reason: 'too_expensive', comment: `comment of ${subscriptionId}` },
        verification: {
          billingAdminEmail: `${accountId}@example.com`,
          paymentLast4: '4242',
          billingAddress: 'Via Roma 1',
        },
        now: addDays(mid, 1),
      },
    },
    admin,
    'support',
  );
  const expiresAt = (state as { expiresAt?: string | null }).expiresAt;
  if (expiresAt && n % 2 === 0) {
    run({ type: 'ProcessTermEnd', data: { subscriptionId, now: expiresAt } }, null, 'system');
    const purgeAt = (state as { purgeAt?: string | null }).purgeAt;
    if (purgeAt && n % 4 === 0) {
      const purgeId = `purge-${subscriptionId}`;
      run(
        {
          type: 'StartPurge',
          data: { subscriptionId, purgeId, holders: ['local'], legalHold: false, now: purgeAt },
        },
        null,
        'system',
      );
      run(
        {
          type: 'RecordHolderPurged',
          data: {
            subscriptionId,
            purgeId,
            receipt: {
              holder: 'local',
              itemsDeleted: 3,
              bytesDeleted: 1024,
              contentHash: 'ab'.repeat(32),
              location: `local:${subscriptionId}`,
              externalReceiptId: null,
            },
            now: purgeAt,
          },
        },
        null,
        'system',
      );
      run(
        {
          type: 'VerifyPurge',
          data: {
            subscriptionId,
            purgeId,
            verifications: [
              {
                holder: 'local',
                remainingItems: 0,
                method: 'marker_scan',
                externalReceiptId: null,
              },
            ],
            now: purgeAt,
          },
        },
        null,
        'system',
      );
      run(
        {
          type: 'CompletePurge',
          data: {
            subscriptionId,
            purgeId,
            keysShredded: [],
            readModelRowsScrubbed: 0,
            jobsRemoved: 0,
            now: purgeAt,
          },
        },
        null,
        'system',
      );
    }
  }
  return out;
}

/** A legal hold on the account of subscription n (account stream `<accountId>`). */
function holdEvents(n: number, accountId: string): SerializedEvent[] {
  const mid = addDays(addDays('2025-01-01T00:00:00.000Z', n % 300), 10);
  const hold: AccountCommand = {
    type: 'PlaceLegalHold',
    data: {
      accountId,
      holdId: `hold-${n}`,
      requestedBy: admin,
      reason: `hold reason ${n}`,
      now: mid,
    },
  };
  return accountDecider.decide(hold, accountDecider.initialState()).map((e) =>
    serialize({
      type: e.type,
      data: { ...(e.data as unknown as Record<string, unknown>), accountId },
      metadata: {
        correlationId: `hold-${n}`,
        causationId: null,
        commandId: null,
        actor: admin,
        channel: 'operator',
        recordedAt: mid,
        schemaVersion: 1,
      },
    }),
  );
}

const serialize = (e: NewEvent): SerializedEvent => ({
  type: e.type,
  data: JSON.stringify(e.data),
  metadata: JSON.stringify(e.metadata),
});

const deserialize = (e: SerializedEvent): NewEvent => ({
  type: e.type,
  data: JSON.parse(e.data) as NewEvent['data'],
  metadata: JSON.parse(e.metadata) as NewEvent['metadata'],
});

/**
 * A connection of our own to the SQLite log, inserting whole streams (revisions from 0) in one
 * transaction per call. No fsync per transaction: a seed lost to a crash is seeded again. In
 * `time` order the events wait in a staging file and go into the log at finish(), sorted by
 * recordedAt (ties in the order written, so each stream keeps its revision order).
 */
function openDirect(
  file: string,
  order: 'stream' | 'time',
): {
  write(streams: ReadonlyArray<{ streamId: string; events: SerializedEvent[] }>): void;
  /** Everything written: staged events go into the log. */
  finish(): void;
  close(): void;
} {
  const db = new Database(file, { timeout: 30_000 });
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -262144');
  const columns = 'event_id, stream_id, revision, type, data, metadata';
  const staging = `${file}.seed-staging`;
  if (order === 'time') {
    rmSync(staging, { force: true });
    db.prepare('ATTACH DATABASE ? AS staging').run(staging);
    db.exec('PRAGMA staging.journal_mode = MEMORY'); // OFF is ignored in defensive mode
    db.exec(
      `CREATE TABLE staging.events (seq INTEGER PRIMARY KEY, event_id TEXT, stream_id TEXT,
        revision INTEGER, type TEXT, data TEXT, metadata TEXT)`,
    );
  }
  const insert = db.prepare(
    `INSERT INTO ${order === 'time' ? 'staging' : 'main'}.events (${columns}) VALUES (?, ?, ?, ?, ?, ?)`,
  );
  const write = db.transaction(
    (streams: ReadonlyArray<{ streamId: string; events: SerializedEvent[] }>) => {
      for (const s of streams)
        s.events.forEach((e, revision) =>
          insert.run(randomUUID(), s.streamId, revision, e.type, e.data, e.metadata),
        );
    },
  );
  return {
    write: (streams) => write.immediate(streams),
    finish: () => {
      if (order === 'time')
        db.transaction(() =>
          db.exec(
            `INSERT INTO main.events (${columns}) SELECT ${columns} FROM staging.events
             ORDER BY json_extract(metadata, '$.recordedAt'), seq`,
          ),
        ).immediate();
    },
    close: () => {
      db.close();
      rmSync(staging, { force: true });
    },
  };
}

/** `seedLog` into the stores of a DATA_DIR (opened with the test configuration, closed after). */
export async function seedDataDir(
  dataDir: string,
  targetEvents: number,
  options: SeedOptions = {},
): Promise<{ events: number; subscriptions: number }> {
  const stores = openEventStores(
    loadConfig({ DATA_DIR: dataDir, NODE_ENV: 'test', LOG_LEVEL: 'silent' }),
  );
  try {
    return await seedLog(stores, targetEvents, options);
  } finally {
    await stores.raw.close();
    await stores.keys.close();
  }
}
