import { randomUUID } from 'node:crypto';
import type { CommandContext } from '@app/command-handling';
import { subscriptionDecider, subscriptionStreamId } from '@app/domain';
import type { EventStore } from '@app/event-store';
import { CommandRunner, EVENT_STORE } from '@app/infrastructure';
import { PurgeProcess } from '@app/purge';
import { auth, registrationBody, startApp, type TestApp, TOKENS } from '../../support/app-harness';
import type { HolderServer } from './fake-holder-server';

export const systemContext = (): CommandContext => ({
  commandId: null,
  requestHash: null,
  correlationId: randomUUID(),
  causationId: null,
  actor: null,
  channel: 'system',
});

export const verification = {
  billingAdminEmail: 'giulia.bianchi@example.it',
  paymentLast4: '4242',
  billingAddress: 'Via dei Fori Imperiali 7, 00186 Roma',
};
export const surveyComment = 'Il prodotto non serve più al nostro studio Bianchi';

/** Registers and cancels through support (personal data in the events), over HTTP. */
export async function registerAndCancel(
  t: TestApp,
  subscriptionId: string,
  accountId = 'acc_p',
): Promise<{ expiresAt: string; purgeAt: string }> {
  const reg = await t.app.inject({
    method: 'POST',
    url: '/v1/subscriptions',
    payload: registrationBody({ subscriptionId, accountId }),
    headers: auth(TOKENS.writer),
  });
  if (reg.statusCode !== 201) throw new Error(reg.body);
  const res = await t.app.inject({
    method: 'POST',
    url: `/v1/subscriptions/${subscriptionId}/cancellation`,
    payload: {
      requestedBy: { actorId: 'agent_7', role: 'billing_admin' },
      channel: 'support',
      verification,
      survey: { reason: 'unused', comment: surveyComment },
    },
    headers: auth(TOKENS.writer),
  });
  if (res.statusCode !== 200) throw new Error(res.body);
  const body = res.json<{ effectiveAt: string; purgeAt: string }>();
  return { expiresAt: body.effectiveAt, purgeAt: body.purgeAt };
}

/** What the term-end job does at expiresAt (the scheduler's part, dispatched by hand here). */
export async function runTermEnd(t: TestApp, subscriptionId: string): Promise<string[]> {
  const runner = t.app.get(CommandRunner);
  const r = await runner.run(
    subscriptionStreamId(subscriptionId),
    subscriptionDecider,
    { type: 'ProcessTermEnd', data: { subscriptionId, now: runner.now() } },
    systemContext(),
  );
  return r.events.map((e) => e.type);
}

export const purge = (t: TestApp, subscriptionId: string) =>
  t.app.get(PurgeProcess).run(subscriptionId, systemContext());

export async function eventTypes(t: TestApp, subscriptionId: string): Promise<string[]> {
  return (
    await t.app.get<EventStore>(EVENT_STORE).readStream(subscriptionStreamId(subscriptionId))
  ).map((e) => e.type);
}

/**
 * The real app with two data holders for every product: the local one and `recordings`, a real
 * HTTP server (HolderServer) signing with `secret`. `start` starts the app (default: startApp);
 * the holder registry reads the process's environment, set here before it. `close` stops both
 * and clears the settings.
 */
export async function startAppWithHttpHolder<A extends { close(): Promise<void> } = TestApp>(
  server: HolderServer,
  secret: string,
  o: { start?: () => Promise<A>; attempts?: number; timeoutMs?: number } = {},
): Promise<{ t: A; close: () => Promise<void> }> {
  await server.start();
  process.env['DATA_HOLDERS'] = JSON.stringify({
    '*': [
      { kind: 'local' },
      {
        kind: 'http',
        name: 'recordings',
        url: server.url,
        secretEnv: 'TEST_HOLDER_SECRET',
        timeoutMs: o.timeoutMs ?? 300,
        attempts: o.attempts ?? 2,
      },
    ],
  });
  process.env['TEST_HOLDER_SECRET'] = secret;
  const t = await (o.start ?? (() => startApp() as unknown as Promise<A>))();
  return {
    t,
    close: async () => {
      delete process.env['DATA_HOLDERS'];
      delete process.env['TEST_HOLDER_SECRET'];
      await t.close();
      await server.stop();
    },
  };
}
