import type { EventStore } from '@app/event-store';
import { RAW_EVENT_STORE } from '@app/infrastructure';
import { ReadModelProjector } from '@app/read-models';
import { auth, registrationBody, startApp, type TestApp, TOKENS } from '../support/app-harness';

/** The operators' HTTP routes of docs/http-api.md: streams, replay with a job handle, the queue dashboard. */
describe('ops routes (GET /v1/streams/{streamId}, POST /v1/ops/replay, /ops/queues)', () => {
  let t: TestApp;
  const subscriptionId = 'sub_ops_1';
  beforeAll(async () => {
    t = await startApp();
    const reg = await t.app.inject({
      method: 'POST',
      url: '/v1/subscriptions',
      headers: auth(TOKENS.writer),
      payload: registrationBody({ subscriptionId, contract: false }),
    });
    expect(reg.statusCode).toBe(201);
    await t.clock.advanceTo('2026-02-15T10:00:00.000Z');
    const cancel = await t.app.inject({
      method: 'POST',
      url: `/v1/subscriptions/${subscriptionId}/cancellation`,
      headers: auth(TOKENS.writer),
      payload: {
        requestedBy: { actorId: 'usr_1', role: 'billing_admin' },
        channel: 'support',
        survey: { reason: 'unused', comment: 'we moved to another tool' },
        verification: {
          billingAdminEmail: 'anna@example.com',
          paymentLast4: '4242',
          billingAddress: 'Via Roma 1',
        },
      },
    });
    expect(cancel.statusCode).toBe(200);
  });
  afterAll(() => t.close());

  it('GET /v1/streams/{streamId}: every event with the state folded after it, personal fields decrypted', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: `/v1/streams/subscription-${subscriptionId}`,
      headers: auth(TOKENS.ops),
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.kind).toBe('subscription');
    expect(body.events.map((e: { type: string }) => e.type)).toEqual([
      'SubscriptionRegistered',
      'CancellationRequested',
      'AutoRenewDisabled',
    ]);
    expect(body.events[0].state.status).toBe('active');
    expect(body.events[1].state.status).toBe('cancellation_pending');
    expect(body.events[1].data.survey.comment).toBe('we moved to another tool');
    expect(body.events[1].data.verification.billingAdminEmail).toBe('anna@example.com');
    expect(body.state.autoRenew).toBe(false);

    const asOf = await t.app.inject({
      method: 'GET',
      url: `/v1/streams/subscription-${subscriptionId}?asOf=2026-02-12T00:00:00Z`,
      headers: auth(TOKENS.ops),
    });
    expect(asOf.json()).toMatchObject({ laterEvents: 2, state: { status: 'active' } });
  });

  it('GET /v1/streams/{streamId}: 401 without a token, 403 without the ops scope, 404 for an unknown stream, 400 for a bad id', async () => {
    const url = `/v1/streams/subscription-${subscriptionId}`;
    const none = await t.app.inject({ method: 'GET', url });
    expect([none.statusCode, none.json().error.code]).toEqual([401, 'UNAUTHENTICATED']);
    const reader = await t.app.inject({ method: 'GET', url, headers: auth(TOKENS.reader) });
    expect([reader.statusCode, reader.json().error.code]).toEqual([403, 'FORBIDDEN_SCOPE']);
    const unknown = await t.app.inject({
      method: 'GET',
      url: '/v1/streams/subscription-nope',
      headers: auth(TOKENS.ops),
    });
    expect([unknown.statusCode, unknown.json().error.code]).toEqual([404, 'NOT_FOUND']);
    const bad = await t.app.inject({
      method: 'GET',
      url: `/v1/streams/${encodeURIComponent('../etc')}`,
      headers: auth(TOKENS.ops),
    });
    expect(bad.statusCode).toBe(400);
  });

  it('POST /v1/ops/replay answers 202 with a job handle; GET /v1/ops/replay/{id} reports it done, the rebuilt tables equal the live ones', async () => {
    const head = await t.app.get<EventStore>(RAW_EVENT_STORE).headPosition();
    expect(await t.app.get(ReadModelProjector).waitFor(head!, 10_000)).toBe(true);

    const forbidden = await t.app.inject({
      method: 'POST',
      url: '/v1/ops/replay',
      headers: auth(TOKENS.writer),
      payload: {},
    });
    expect(forbidden.statusCode).toBe(403);
    const invalid = await t.app.inject({
      method: 'POST',
      url: '/v1/ops/replay',
      headers: auth(TOKENS.ops),
      payload: { projection: 'nope' },
    });
    expect([invalid.statusCode, invalid.json().error.code]).toEqual([400, 'VALIDATION_FAILED']);

    for (const dryRun of [true, false]) {
      const started = await t.app.inject({
        method: 'POST',
        url: '/v1/ops/replay',
        headers: auth(TOKENS.ops),
        payload: { dryRun },
      });
      expect(started.statusCode).toBe(202);
      const job = started.json();
      expect(job).toMatchObject({ status: 'running', href: `/v1/ops/replay/${job.id}` });
      let status = job;
      for (let i = 0; i < 200 && status.status === 'running'; i++) {
        await new Promise((r) => setTimeout(r, 25));
        status = (
          await t.app.inject({ method: 'GET', url: job.href, headers: auth(TOKENS.ops) })
        ).json();
      }
      expect(status).toMatchObject({ status: 'succeeded', dryRun, error: null });
      expect(status.report).toMatchObject({ events: 3, swapped: !dryRun });
      if (dryRun) expect(status.report.identical).toBe(true);
    }
    const after = await t.app.inject({
      method: 'GET',
      url: `/v1/accounts/acc_1/subscriptions`,
      headers: auth(TOKENS.reader),
    });
    expect(after.json().items.map((s: { subscriptionId: string }) => s.subscriptionId)).toEqual([
      subscriptionId,
    ]);
    const missing = await t.app.inject({
      method: 'GET',
      url: '/v1/ops/replay/replay-unknown',
      headers: auth(TOKENS.ops),
    });
    expect(missing.statusCode).toBe(404);
  });

  it('POST /v1/ops/replay: the handle lives in the read database: another replica on the same DATA_DIR answers for it and refuses a second replay meanwhile; a restarted one still has the report', async () => {
    /** GET a handle until it is no longer running. */
    const poll = async (app: TestApp, href: string) => {
      for (let i = 0; ; i++) {
        const res = await app.app.inject({ method: 'GET', url: href, headers: auth(TOKENS.ops) });
        expect(res.statusCode).toBe(200);
        if (res.json().status !== 'running' || i >= 400) return res.json();
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    // A second replica on the same DATA_DIR, up before the replay starts on the first.
    const replica = await startApp({ start: '2026-02-15T10:00:00.000Z', dataDir: t.dataDir });
    let job: { id: string; href: string; owner: string };
    let done: Record<string, unknown>;
    try {
      const started = await t.app.inject({
        method: 'POST',
        url: '/v1/ops/replay',
        headers: auth(TOKENS.ops),
        payload: { dryRun: true },
      });
      expect(started.statusCode).toBe(202);
      job = started.json();
      expect(job).toMatchObject({ status: 'running', alreadyRunning: false, dryRun: true });

      const second = await replica.app.inject({
        method: 'POST',
        url: '/v1/ops/replay',
        headers: auth(TOKENS.ops),
        payload: {},
      });
      expect(second.statusCode).toBe(202);
      const other = second.json();
      // Still running: the same handle; already finished: a replay of its own (then let it end).
      if (other.alreadyRunning) expect(other.id).toBe(job.id);
      else expect(await poll(replica, other.href)).toMatchObject({ status: 'succeeded' });
      done = await poll(replica, job.href);
      expect(done).toMatchObject({ id: job.id, status: 'succeeded', dryRun: true, error: null });
      expect(done['report']).toMatchObject({ events: 3, identical: true, swapped: false });
      expect(done['owner']).toBe(job.owner);
      expect(await poll(t, job.href)).toEqual(done);
    } finally {
      await replica.close();
    }

    const restarted = await startApp({ start: '2026-02-15T10:00:00.000Z', dataDir: t.dataDir });
    try {
      const res = await restarted.app.inject({
        method: 'GET',
        url: job.href,
        headers: auth(TOKENS.ops),
      });
      expect([res.statusCode, res.json()]).toEqual([200, done]);
    } finally {
      await restarted.close();
    }
  });

  it('/ops/queues: the Bull Board dashboard behind the ops scope', async () => {
    const none = await t.app.inject({ method: 'GET', url: '/ops/queues' });
    expect([none.statusCode, none.json().error.code]).toEqual([401, 'UNAUTHENTICATED']);
    const writer = await t.app.inject({
      method: 'GET',
      url: '/ops/queues',
      headers: auth(TOKENS.writer),
    });
    expect([writer.statusCode, writer.json().error.code]).toEqual([403, 'FORBIDDEN_SCOPE']);
    const ops = await t.app.inject({
      method: 'GET',
      url: '/ops/queues',
      headers: auth(TOKENS.ops),
    });
    expect(ops.statusCode).toBe(200);
    expect(ops.headers['content-type']).toContain('text/html');
    const api = await t.app.inject({
      method: 'GET',
      url: '/ops/queues/api/queues',
      headers: auth(TOKENS.ops),
    });
    expect(api.statusCode).toBe(200);
    expect(api.json().queues).toEqual([]);
  });
});
