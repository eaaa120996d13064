import type { EventStore } from '@app/event-store';
import { EVENT_STORE } from '@app/infrastructure';
import { PurgeProcess } from '@app/purge';
import {
  advanceTo,
  auth,
  processTermEnd,
  registrationBody,
  startApp,
  type TestApp,
  TOKENS,
} from '../support/app-harness';

const admin = { actorId: 'usr_admin', role: 'billing_admin' };
const dunning = { actorId: 'svc_dunning_run_12', role: 'user' };
const dpo = { actorId: 'usr_dpo', role: 'user' };
const PERSONAL = {
  email: 'ada.lovelace@example.org',
  last4: '1815',
  address: '12 St James Square, London',
  comment: 'Ada says the engine is idle',
};

/** D9 (billing facts change) and D10 (erasure under a legal hold) over HTTP, on the real app. */
describe('billing facts (D9) and erasure under a legal hold (D10) over HTTP (real app)', () => {
  let t: TestApp;
  let store: EventStore;
  beforeAll(async () => {
    t = await startApp({ logLevel: 'warn' });
    store = t.app.get<EventStore>(EVENT_STORE);
  });
  afterAll(() => t.close());

  const inject = (
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    url: string,
    token: string,
    payload?: unknown,
    headers: Record<string, string> = {},
  ) =>
    t.app.inject({
      method,
      url,
      headers: { ...auth(token), ...headers },
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  const register = async (body: Record<string, unknown>) => {
    const r = await inject('POST', '/v1/subscriptions', TOKENS.writer, registrationBody(body));
    expect(r.statusCode).toBe(201);
    return r.json<{ position: string; expiresAt: string | null }>();
  };
  const putFacts = (id: string, body: unknown, headers: Record<string, string> = {}) =>
    inject('PUT', `/v1/subscriptions/${id}/billing-facts`, TOKENS.writer, body, headers);
  const selfServiceCancel = (id: string) =>
    inject('POST', `/v1/subscriptions/${id}/cancellation`, TOKENS.writer, {
      requestedBy: admin,
      channel: 'self_service',
    });
  const preview = (id: string) =>
    inject(
      'GET',
      `/v1/subscriptions/${id}/cancellation-preview?role=billing_admin&channel=self_service`,
      TOKENS.reader,
    );
  const typesOf = async (streamId: string) => (await store.readStream(streamId)).map((e) => e.type);

  describe('D9: billing facts change', () => {
    it('D9: PUT billing-facts changes the facts: 200 Subscription, one BillingFactsUpdated; GET, the audit trail and the stream inspection show it', async () => {
      await register({ accountId: 'acc_d9', subscriptionId: 'd9_a', assignedLicences: 4 });
      const before = await inject('GET', '/v1/subscriptions/d9_a', TOKENS.reader);
      expect(before.json()).toMatchObject({ outstandingBalance: null, assignedLicences: 4 });

      const res = await putFacts('d9_a', {
        outstandingBalance: { amount: '19.90', currency: 'EUR' },
        requestedBy: dunning,
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        subscriptionId: 'd9_a',
        status: 'active',
        outstandingBalance: { amount: '19.90', currency: 'EUR' },
        assignedLicences: 4,
        events: ['BillingFactsUpdated'],
        position: expect.any(String),
      });
      const got = await inject('GET', '/v1/subscriptions/d9_a', TOKENS.reader);
      expect(got.json()).toMatchObject({
        outstandingBalance: { amount: '19.90', currency: 'EUR' },
        assignedLicences: 4,
        revision: 1,
      });
      expect(await typesOf('subscription-d9_a')).toEqual([
        'SubscriptionRegistered',
        'BillingFactsUpdated',
      ]);

      const audit = await inject(
        'GET',
        `/v1/audit/events?subscriptionId=d9_a&type=BillingFactsUpdated&minPosition=${res.json().position}`,
        TOKENS.auditor,
      );
      expect(audit.statusCode).toBe(200);
      expect(audit.json().items).toEqual([
        expect.objectContaining({
          type: 'BillingFactsUpdated',
          actor: dunning,
          channel: 'system',
          data: expect.objectContaining({
            outstandingBalance: { amount: '19.90', currency: 'EUR' },
            assignedLicences: 4,
            previous: { outstandingBalance: null, assignedLicences: 4 },
          }),
        }),
      ]);

      const inspected = await inject('GET', '/v1/streams/subscription-d9_a', TOKENS.ops);
      expect(inspected.json().state).toMatchObject({
        outstandingBalance: { amount: '19.90', currency: 'EUR' },
        assignedLicences: 4,
      });

      // The account list (read model) shows the same Subscription.
      const listed = await inject(
        'GET',
        `/v1/accounts/acc_d9/subscriptions?minPosition=${res.json().position}`,
        TOKENS.reader,
      );
      expect(listed.json().items[0]).toMatchObject({
        subscriptionId: 'd9_a',
        outstandingBalance: { amount: '19.90', currency: 'EUR' },
        assignedLicences: 4,
      });

      // Licences alone; no requestedBy: the service acts for nobody named.
      const licences = await putFacts('d9_a', { assignedLicences: 9 });
      expect(licences.json()).toMatchObject({
        outstandingBalance: { amount: '19.90', currency: 'EUR' },
        assignedLicences: 9,
        events: ['BillingFactsUpdated'],
      });
      const [, , last] = await store.readStream('subscription-d9_a');
      expect([last!.metadata.actor, last!.metadata.channel]).toEqual([null, 'system']);
    });

    it('D9/R6: a balance that appears after registration refuses self-service cancellation; once cleared it is allowed', async () => {
      await register({ accountId: 'acc_d9', subscriptionId: 'd9_r6' });
      expect(
        (await putFacts('d9_r6', { outstandingBalance: { amount: '30.00', currency: 'EUR' } }))
          .statusCode,
      ).toBe(200);
      const refused = await selfServiceCancel('d9_r6');
      expect([refused.statusCode, refused.json().error.code]).toEqual([422, 'OUTSTANDING_BALANCE']);
      expect(refused.json().error.message).toMatch(/30\.00 EUR/);

      const cleared = await putFacts('d9_r6', {
        outstandingBalance: { amount: '0.00', currency: 'EUR' },
      });
      expect(cleared.json().events).toEqual(['BillingFactsUpdated']);
      const allowed = await selfServiceCancel('d9_r6');
      expect(allowed.statusCode).toBe(200);
      expect(allowed.json().subscription).toMatchObject({
        status: 'cancellation_pending',
        outstandingBalance: { amount: '0.00', currency: 'EUR' },
      });
      expect(await typesOf('subscription-d9_r6')).toEqual([
        'SubscriptionRegistered',
        'BillingFactsUpdated',
        'CancellationRefused',
        'BillingFactsUpdated',
        'CancellationRequested',
        'AutoRenewDisabled',
      ]);
    });

    it('D9/R19: the cancellation preview reflects the latest facts, not those given at registration', async () => {
      await register({
        accountId: 'acc_d9',
        subscriptionId: 'd9_p',
        outstandingBalance: { amount: '50.00', currency: 'EUR' },
        assignedLicences: 12,
      });
      const owing = await preview('d9_p');
      expect(owing.json()).toMatchObject({
        allowed: false,
        refusals: [{ code: 'OUTSTANDING_BALANCE', rule: 'R6' }],
        outstandingBalance: { amount: '50.00', currency: 'EUR' },
        assignedLicences: 12,
      });
      await putFacts('d9_p', {
        outstandingBalance: { amount: '0', currency: 'EUR' },
        assignedLicences: 3,
      });
      const settled = await preview('d9_p');
      expect(settled.json()).toMatchObject({
        allowed: true,
        refusals: [],
        outstandingBalance: { amount: '0', currency: 'EUR' },
        assignedLicences: 3,
      });
      const codes = settled.json().checklist.map((i: { code: string }) => i.code);
      expect(codes).toContain('LICENCES_IN_USE');
      expect(codes).not.toContain('OUTSTANDING_BALANCE');
    });

    it('D9: the same values again answer 200 with the Subscription and write nothing; Idempotency-Key answers a repeat from the log', async () => {
      await register({
        accountId: 'acc_d9',
        subscriptionId: 'd9_same',
        outstandingBalance: { amount: '12.50', currency: 'EUR' },
        assignedLicences: 2,
      });
      const head = await t.raw.headPosition();
      const same = await putFacts('d9_same', {
        outstandingBalance: { amount: '12.5', currency: 'EUR' },
        assignedLicences: 2,
      });
      expect(same.statusCode).toBe(200);
      expect(same.json()).toMatchObject({
        subscriptionId: 'd9_same',
        outstandingBalance: { amount: '12.50', currency: 'EUR' },
        assignedLicences: 2,
        revision: 0,
        events: [],
      });
      expect(await t.raw.headPosition()).toBe(head);

      const key = { 'idempotency-key': 'facts-1' };
      const first = await putFacts('d9_same', { assignedLicences: 5 }, key);
      const again = await putFacts('d9_same', { assignedLicences: 5 }, key);
      expect(first.json().events).toEqual(['BillingFactsUpdated']);
      expect([again.statusCode, again.json().events, again.json().position]).toEqual([
        200,
        ['BillingFactsUpdated'],
        first.json().position,
      ]);
      const other = await putFacts('d9_same', { assignedLicences: 6 }, key);
      expect([other.statusCode, other.json().error.code]).toEqual([422, 'IDEMPOTENCY_KEY_REUSED']);
      expect(await typesOf('subscription-d9_same')).toEqual([
        'SubscriptionRegistered',
        'BillingFactsUpdated',
      ]);
    });

    it('D9: bad input is 400 VALIDATION_FAILED and writes nothing; an unknown subscription is 404', async () => {
      await register({ accountId: 'acc_d9', subscriptionId: 'd9_bad' });
      const head = await t.raw.headPosition();
      for (const body of [
        {},
        { requestedBy: dunning },
        { assignedLicences: -1 },
        { assignedLicences: 1.5 },
        { assignedLicences: '3' },
        { outstandingBalance: null },
        { outstandingBalance: { amount: 'lots', currency: 'EUR' } },
        { outstandingBalance: { amount: '10.00', currency: 'euro' } },
        { outstandingBalance: { amount: '10.00' } },
        { assignedLicences: 3, channel: 'support' },
        { assignedLicences: 3, requestedBy: { actorId: '', role: 'user' } },
      ]) {
        const res = await putFacts('d9_bad', body);
        expect([body, res.statusCode, res.json().error.code]).toEqual([
          body,
          400,
          'VALIDATION_FAILED',
        ]);
      }
      const notJson = await t.app.inject({
        method: 'PUT',
        url: '/v1/subscriptions/d9_bad/billing-facts',
        payload: '{"assignedLicences":',
        headers: { ...auth(TOKENS.writer), 'content-type': 'application/json' },
      });
      expect(notJson.statusCode).toBe(400);
      expect(await t.raw.headPosition()).toBe(head);
      expect(await typesOf('subscription-d9_bad')).toEqual(['SubscriptionRegistered']);

      const unknown = await putFacts('d9_nobody', { assignedLicences: 1 });
      expect([unknown.statusCode, unknown.json().error.code]).toEqual([404, 'NOT_FOUND']);
      const reader = await inject('PUT', '/v1/subscriptions/d9_bad/billing-facts', TOKENS.reader, {
        assignedLicences: 1,
      });
      expect([reader.statusCode, reader.json().error.code]).toEqual([403, 'FORBIDDEN_SCOPE']);
      expect(await t.raw.headPosition()).toBe(head);
    });

    it('D9: facts still change after expiry; a purged subscription answers 409 INVALID_STATE and writes nothing', async () => {
      const reg = await register({
        accountId: 'acc_d9_purge',
        subscriptionId: 'd9_purged',
        autoRenew: false,
      });
      await processTermEnd(t, 'd9_purged', reg.expiresAt!);
      const expired = await putFacts('d9_purged', {
        outstandingBalance: { amount: '7.00', currency: 'EUR' },
      });
      expect(expired.json()).toMatchObject({ status: 'expired', events: ['BillingFactsUpdated'] });
      const purgeAt = expired.json().purgeAt as string;
      await advanceTo(t, purgeAt);
      const outcome = await t.app.get(PurgeProcess).run('d9_purged', {
        commandId: null,
        requestHash: null,
        correlationId: 'corr-purge-d9',
        causationId: 'job-purge-d9',
        actor: null,
        channel: 'system',
      });
      expect(outcome).toMatchObject({ status: 'purged' });
      const head = await t.raw.headPosition();
      const res = await putFacts('d9_purged', { assignedLicences: 0 });
      expect([res.statusCode, res.json().error.code]).toEqual([409, 'INVALID_STATE']);
      expect(await t.raw.headPosition()).toBe(head);
    });
  });

  describe('D10: erasure under a legal hold', () => {
    const erasure = { reason: 'ticket GDPR-2026-77', requestedBy: dpo };
    const hold = { reason: 'Litigation 2026/9', requestedBy: { actorId: 'ops_1', role: 'user' } };

    it('D10: an erasure under a legal hold is 409 LEGAL_HOLD, recorded as ErasureRefused, shreds and scrubs nothing; after the release it succeeds', async () => {
      await register({ accountId: 'acc_d10', subscriptionId: 'd10_1', contract: true });
      const cancelled = await inject(
        'POST',
        '/v1/subscriptions/d10_1/cancellation',
        TOKENS.writer,
        {
          requestedBy: admin,
          channel: 'support',
          verification: {
            billingAdminEmail: PERSONAL.email,
            paymentLast4: PERSONAL.last4,
            billingAddress: PERSONAL.address,
          },
          survey: { reason: 'unused', comment: PERSONAL.comment },
        },
      );
      expect(cancelled.statusCode).toBe(200);
      const placed = await inject('POST', '/v1/accounts/acc_d10/legal-hold', TOKENS.ops, hold);
      expect(placed.json()).toMatchObject({ legalHold: true, events: ['LegalHoldPlaced'] });

      const key = { 'idempotency-key': 'erase-d10-1' };
      const refused = await inject(
        'POST',
        '/v1/accounts/acc_d10/erasure',
        TOKENS.ops,
        erasure,
        key,
      );
      expect(refused.statusCode).toBe(409);
      expect(refused.json()).toEqual({
        error: {
          code: 'LEGAL_HOLD',
          message: expect.stringMatching(/legal hold/),
          details: { rule: 'D10', recorded: true },
        },
      });
      const account = await store.readStream('account-acc_d10');
      expect(account.map((e) => e.type)).toEqual(['LegalHoldPlaced', 'ErasureRefused']);
      expect(account[1]!.data).toMatchObject({
        accountId: 'acc_d10',
        code: 'LEGAL_HOLD',
        rule: 'D10',
        holdId: placed.json().holdId,
        requestedBy: dpo,
        reason: erasure.reason,
      });
      expect([account[1]!.metadata.actor, account[1]!.metadata.channel]).toEqual([dpo, 'operator']);

      // Nothing shredded: the subscription's personal fields still decrypt...
      const requested = (await store.readStream('subscription-d10_1')).find(
        (e) => e.type === 'CancellationRequested',
      )!;
      expect(requested.data).toMatchObject({
        verification: { billingAdminEmail: PERSONAL.email, billingAddress: PERSONAL.address },
        survey: { comment: PERSONAL.comment },
      });
      // ...and nothing scrubbed: the audit trail still shows them, beside the refusal.
      const head = (await t.raw.headPosition())!.toString();
      const audit = await inject(
        'GET',
        `/v1/audit/events?accountId=acc_d10&minPosition=${head}`,
        TOKENS.auditor,
      );
      const items = audit.json().items as { type: string; data: Record<string, unknown> }[];
      expect(items.map((i) => i.type)).toEqual([
        'SubscriptionRegistered',
        'CancellationRequested',
        'AutoRenewDisabled',
        'LegalHoldPlaced',
        'ErasureRefused',
      ]);
      expect(items[1]!.data).toMatchObject({
        verification: { billingAdminEmail: PERSONAL.email },
      });
      expect(items[3]!.data).toMatchObject({ reason: hold.reason });

      // The same request with the same key is answered from the log: still refused.
      const repeated = await inject(
        'POST',
        '/v1/accounts/acc_d10/erasure',
        TOKENS.ops,
        erasure,
        key,
      );
      expect([repeated.statusCode, repeated.json().error.code]).toEqual([409, 'LEGAL_HOLD']);
      expect(await typesOf('account-acc_d10')).toEqual(['LegalHoldPlaced', 'ErasureRefused']);

      // After the release the erasure may be asked again (a new request: a new key).
      const released = await inject('DELETE', '/v1/accounts/acc_d10/legal-hold', TOKENS.ops, {
        ...hold,
        reason: 'Case settled',
      });
      expect(released.json()).toMatchObject({ legalHold: false });
      const erased = await inject('POST', '/v1/accounts/acc_d10/erasure', TOKENS.ops, erasure, {
        'idempotency-key': 'erase-d10-2',
      });
      expect(erased.statusCode).toBe(200);
      expect(erased.json()).toMatchObject({
        accountId: 'acc_d10',
        events: ['PersonalDataErased'],
      });
      expect(erased.json().keysShredded.length).toBeGreaterThan(0);
      expect(await typesOf('account-acc_d10')).toEqual([
        'LegalHoldPlaced',
        'ErasureRefused',
        'LegalHoldReleased',
        'PersonalDataErased',
      ]);
      const gone = (await store.readStream('subscription-d10_1')).find(
        (e) => e.type === 'CancellationRequested',
      )!;
      expect(gone.data).toMatchObject({
        verification: { billingAdminEmail: '[erased]', billingAddress: '[erased]' },
        survey: { reason: 'unused', comment: '[erased]' },
      });
    });

    it('D10: without a hold the erasure runs as before (R17)', async () => {
      await register({ accountId: 'acc_d10_free', subscriptionId: 'd10_free' });
      const erased = await inject('POST', '/v1/accounts/acc_d10_free/erasure', TOKENS.ops, erasure);
      expect(erased.statusCode).toBe(200);
      expect(erased.json().events).toEqual(['PersonalDataErased']);
      expect(await typesOf('account-acc_d10_free')).toEqual(['PersonalDataErased']);
    });
  });
});
