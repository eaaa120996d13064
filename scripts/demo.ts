/**
 * npm run demo: the whole lifecycle in under a minute, on the embedded defaults (a fresh temp
 * DATA_DIR with the SQLite log and read models, a private redis-server for BullMQ) and a
 * controlled clock. Registers subscriptions of every plan kind, cancels some (with refusals),
 * terminates one for failed payment (D8), moves the clock through term ends and purge dates (a
 * legal hold, a reactivation), then prints
 * the audit trail per subscription (times in the account's zone) and the purge receipts.
 * Everything runs in this process over the real HTTP routes (Fastify inject); it stops its
 * redis-server and removes its directory at the end.
 */
/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-return --
   a demo script printing the API's JSON answers: the response shapes are docs/http-api.md's, not typed here. */
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DateTime } from 'luxon';
import pino from 'pino';
import { ControlledClock, loadConfig } from '@app/platform';
import { LifecycleService } from '@app/scheduling';
import { AppModule } from '../apps/api/src/app.module';
import { fastifyAdapter } from '../apps/api/src/http/http-app.factory';

type Print = (line: string) => void;
const H = { authorization: 'Bearer demo-ops' };
const billingAdmin = { actorId: 'usr_anna', role: 'billing_admin' };
const verification = {
  billingAdminEmail: 'anna.rossi@example.it',
  paymentLast4: '4242',
  billingAddress: 'Via Roma 1, Roma',
};

interface Sub {
  id: string;
  account: string;
  zone: string;
  label: string;
}

export interface DemoResult {
  subscriptions: Record<string, { status: string; events: string[] }>;
  receipts: number;
  refusals: string[];
}

export async function runDemo(print: Print = (l) => console.log(l)): Promise<DemoResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sub-eol-demo-'));
  const clock = new ControlledClock('2026-01-15T09:00:00.000Z');
  const config = loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    CLOCK_MODE: 'controlled',
    AUTH_TOKENS: JSON.stringify({
      'demo-ops': {
        service: 'demo',
        scopes: ['subscriptions:write', 'subscriptions:read', 'audit:read', 'ops'],
      },
    }),
  });
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot({
      config,
      clock,
      logger: pino({ level: 'silent' }),
      lifecycle: { role: 'all', staleGraceMs: 0 },
    }) as never,
    fastifyAdapter(),
    { logger: false },
  );
  const refusals: string[] = [];
  try {
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    await app.get(LifecycleService).lifecycle.initialReconcile();
    const call = async (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown) => {
      const res = await app.inject({
        method,
        url,
        headers: H,
        ...(payload ? { payload: payload } : {}),
      });
      return { status: res.statusCode, body: res.json<Record<string, any>>() };
    };
    const now = () => clock.now().toISO()!;
    const step = (text: string) => print(`\n[${now()}] ${text}`);

    const subs: Sub[] = [];
    const register = async (
      label: string,
      id: string,
      account: string,
      zone: string,
      body: Record<string, unknown>,
    ) => {
      const res = await call('POST', '/v1/subscriptions', {
        subscriptionId: id,
        accountId: account,
        timeZone: zone,
        autoRenew: true,
        contract: false,
        ...body,
      });
      if (res.status !== 201)
        throw new Error(`register ${id}: ${res.status} ${JSON.stringify(res.body)}`);
      subs.push({ id, account, zone, label });
      print(
        `  registered ${id.padEnd(22)} ${label}: ${res.body['status']}, term ends ${res.body['currentTerm'].end}`,
      );
    };
    const cancel = async (id: string, body: Record<string, unknown>, what: string) => {
      const res = await call('POST', `/v1/subscriptions/${id}/cancellation`, body);
      if (res.status === 200)
        print(
          `  cancel ${id} (${what}): ok, access until ${res.body['effectiveAt']}, purge ${res.body['purgeAt']}, refund ${res.body['refund']}` +
            (res.body['noticeDeadlineMissed'] ? ', NOTICE DEADLINE MISSED: one more term' : ''),
        );
      else {
        refusals.push(res.body['error'].code);
        print(
          `  cancel ${id} (${what}): refused ${res.status} ${res.body['error'].code}: ${res.body['error'].message}`,
        );
      }
    };
    const moveTo = async (iso: string) => {
      const res = await call('POST', '/v1/ops/clock', { now: iso });
      if (res.status !== 200) throw new Error(`clock: ${JSON.stringify(res.body)}`);
      step(`clock moved to ${iso}: ${res.body['jobsReleased']} lifecycle jobs ran`);
    };

    step('Registering subscriptions (every plan kind, several products)');
    await register('GoTo Meeting, monthly', 'sub_meeting', 'acc_rome', 'Europe/Rome', {
      productId: 'goto-meeting',
      plan: { kind: 'monthly' },
      termStart: '2026-01-01T00:00:00+01:00',
    });
    await register('GoTo Webinar, annual, balance due', 'sub_webinar', 'acc_rome', 'Europe/Rome', {
      productId: 'goto-webinar',
      plan: { kind: 'annual' },
      termStart: '2025-03-01T00:00:00+01:00',
      outstandingBalance: { amount: '120.00', currency: 'EUR' },
    });
    await register('GoTo Room, monthly', 'sub_room', 'acc_rome', 'Europe/Rome', {
      productId: 'goto-room',
      plan: { kind: 'monthly' },
      termStart: '2026-01-01T00:00:00+01:00',
    });
    await register('GoTo Connect, 15-month contract', 'sub_connect', 'acc_ny', 'America/New_York', {
      productId: 'goto-connect',
      plan: { kind: 'fixed_term', termMonths: 15 },
      termStart: '2025-01-10T00:00:00-05:00',
      contract: true,
    });
    await register(
      'GoTo Webinar, monthly, payments failing',
      'sub_dunning',
      'acc_ny',
      'America/New_York',
      {
        productId: 'goto-webinar',
        plan: { kind: 'monthly' },
        termStart: '2026-01-20T00:00:00-05:00',
      },
    );
    await register('GoTo Training, 14-day trial', 'sub_training', 'acc_tokyo', 'Asia/Tokyo', {
      productId: 'goto-training',
      plan: { kind: 'trial', trialDays: 14 },
      termStart: '2026-01-15T09:00:00+09:00',
    });
    await register('OpenVoice, monthly', 'sub_openvoice', 'acc_tokyo', 'Asia/Tokyo', {
      productId: 'openvoice',
      plan: { kind: 'monthly' },
      termStart: '2026-01-01T00:00:00+09:00',
    });

    step('Cancelling (and being refused)');
    await cancel(
      'sub_meeting',
      { requestedBy: { actorId: 'usr_bob', role: 'user' }, channel: 'self_service' },
      'a plain user, self-service',
    );
    await cancel(
      'sub_meeting',
      {
        requestedBy: billingAdmin,
        channel: 'self_service',
        survey: { reason: 'too_expensive', comment: 'Budget cuts this year' },
      },
      'billing admin, self-service',
    );
    await cancel(
      'sub_webinar',
      { requestedBy: billingAdmin, channel: 'self_service' },
      'self-service with a balance due',
    );
    await cancel(
      'sub_webinar',
      { requestedBy: billingAdmin, channel: 'support', verification },
      'through support',
    );
    await cancel(
      'sub_connect',
      { requestedBy: billingAdmin, channel: 'self_service' },
      'a contract through self-service',
    );
    await cancel('sub_training', { requestedBy: billingAdmin, channel: 'self_service' }, 'a trial');
    await cancel(
      'sub_room',
      { requestedBy: billingAdmin, channel: 'support', verification },
      'room product through support',
    );
    await cancel(
      'sub_openvoice',
      { requestedBy: billingAdmin, channel: 'self_service', survey: { reason: 'unused' } },
      'billing admin, self-service',
    );

    await moveTo('2026-02-10T09:00:00.000Z');
    step('Reactivating sub_room inside its 90-day grace period (D2)');
    const reactivated = await call('POST', '/v1/subscriptions/sub_room/reactivation', {
      requestedBy: billingAdmin,
      channel: 'support',
    });
    print(
      `  reactivation: ${reactivated.status} ${reactivated.body['status'] ?? reactivated.body['error']?.code}`,
    );
    step('Billing terminates sub_dunning after failed dunning, at its term end (D8)');
    const terminated = await call('POST', '/v1/subscriptions/sub_dunning/termination', {
      requestedBy: { actorId: 'svc_billing', role: 'system' },
      reason: 'payment_failed',
      effective: 'term_end',
    });
    print(
      `  termination: ${terminated.status} effective ${terminated.body['effectiveAt'] ?? terminated.body['error']?.code}, purge at ${terminated.body['purgeAt'] ?? ''}`,
    );
    step('Placing a legal hold on acc_tokyo (D3)');
    const hold = await call('POST', '/v1/accounts/acc_tokyo/legal-hold', {
      reason: 'Litigation 2026-17',
      requestedBy: { actorId: 'usr_legal', role: 'user' },
    });
    print(`  legal hold: ${hold.status}`);

    await moveTo('2026-03-20T09:00:00.000Z');
    step('Late notice on the fixed-term contract (R9: 21 days before its renewal)');
    await cancel(
      'sub_connect',
      {
        requestedBy: { actorId: 'usr_pm', role: 'product_admin' },
        channel: 'support',
        verification,
      },
      'product admin of a contract, through support',
    );

    await moveTo('2026-06-01T09:00:00.000Z');
    step('Releasing the legal hold: the held purges run at once');
    const release = await call('DELETE', '/v1/accounts/acc_tokyo/legal-hold', {
      reason: 'Case closed',
      requestedBy: { actorId: 'usr_legal', role: 'user' },
    });
    print(`  release: ${release.status}`);
    await moveTo('2026-06-01T09:00:01.000Z');

    // The audit trail and receipts come from the read models, which follow the log: every query
    // below waits (minPosition) until they include the last event of every demo stream.
    let head = 0n;
    for (const stream of [...subs.map((s) => `subscription-${s.id}`), 'account-acc_tokyo']) {
      const events = (await call('GET', `/v1/streams/${stream}`)).body['events'] as
        { position: string }[] | undefined;
      const last = events?.at(-1)?.position;
      if (last !== undefined && BigInt(last) > head) head = BigInt(last);
    }
    const upToDate = `minPosition=${head}`;
    const result: DemoResult = { subscriptions: {}, receipts: 0, refusals };
    print(
      "\n================ Audit trail per subscription (times in the account's zone) ================",
    );
    for (const s of subs) {
      const state = (await call('GET', `/v1/subscriptions/${s.id}`)).body;
      const events = (
        await call('GET', `/v1/audit/events?subscriptionId=${s.id}&limit=1000&${upToDate}`)
      ).body['items'] as Record<string, any>[];
      result.subscriptions[s.id] = {
        status: state['status'],
        events: events.map((e) => e['type']),
      };
      print(`\n${s.id} — ${s.label} — account ${s.account} (${s.zone}) — now ${state['status']}`);
      const rows = events.map((e) => [
        DateTime.fromISO(e['recordedAt']).setZone(s.zone).toFormat('yyyy-LL-dd HH:mm ZZZZ'),
        e['type'],
        e['actor'] ? `${e['actor'].actorId} (${e['actor'].role})` : 'system',
        e['channel'] ?? '',
        detail(e),
      ]);
      print(table(['when', 'event', 'who', 'channel', 'detail'], rows));
    }
    const receipts = (await call('GET', `/v1/audit/purges?limit=100&${upToDate}`)).body[
      'items'
    ] as Record<string, any>[];
    result.receipts = receipts.length;
    print('\n================ Purge receipts (R15) ================');
    print(
      table(
        ['subscription', 'product', 'expired', 'purged', 'holders', 'items', 'keys shredded'],
        receipts.map((r) => {
          const zone = subs.find((s) => s.id === r['subscriptionId'])?.zone ?? 'UTC';
          const at = (iso: string) =>
            DateTime.fromISO(iso).setZone(zone).toFormat('yyyy-LL-dd HH:mm ZZZZ');
          return [
            r['subscriptionId'],
            r['productId'],
            at(r['expiresAt']),
            at(r['purgedAt']),
            (r['receipt']?.holders ?? []).map((h: { holder: string }) => h.holder).join(', '),
            String(r['receipt']?.itemsDeleted ?? ''),
            String((r['receipt']?.keysShredded ?? []).length),
          ];
        }),
      ),
    );
    return result;
  } finally {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
  }
}

function detail(e: Record<string, any>): string {
  const d = e['data'] ?? {};
  switch (e['type']) {
    case 'CancellationRefused':
      return String(d.code ?? d.reason ?? '');
    case 'CancellationRequested':
      return `effective ${d.effectiveAt ?? d.expiresAt ?? ''}${d.noticeDeadlineMissed ? ' (notice missed)' : ''}${d.survey?.comment ? `, “${d.survey.comment}”` : ''}`;
    case 'SubscriptionExpired':
      return d.cause === 'terminated' ? `terminated: ${d.terminationReason ?? ''}` : '';
    case 'TerminationScheduled':
      return `${d.reason ?? ''}, effective ${d.effectiveAt ?? ''}`;
    case 'ProductDataPurged':
      return `receipt ${d.receipt?.purgeId ?? ''}`;
    default:
      return '';
  }
}

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (c ?? '').padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

if (require.main === module) {
  const started = Date.now();
  runDemo().then(
    () => {
      console.log(
        `\nDemo finished in ${((Date.now() - started) / 1000).toFixed(1)} s; nothing left running.`,
      );
      process.exit(0);
    },
    (error: unknown) => {
      console.error('demo failed:', error);
      process.exit(1);
    },
  );
}
