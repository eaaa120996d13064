/**
 * The source of a small API client, compiled by test/contract/openapi-client.test.ts against
 * the types openapi-typescript generates from the served document (`./api-types`), then run
 * against the real server. It is kept as text, not as a module of this repository, because the
 * types it imports exist only once generated.
 *
 * It drives a whole lifecycle with openapi-fetch and reads every answer through the generated
 * types, with no cast and no `any`: a field the document left out or typed otherwise is a
 * compile error. The explicit annotations (`const status: SubscriptionStatus = …`) pin the
 * types the document must give.
 */
export const LIFECYCLE_CLIENT_SOURCE = String.raw`
import createClient from 'openapi-fetch';
import type { components, paths } from './api-types';

type Subscription = components['schemas']['Subscription'];
type SubscriptionStatus = 'trial' | 'active' | 'cancellation_pending' | 'expired' | 'purged';
type ErrorCode = components['schemas']['Error']['error']['code'];

export interface LifecycleReport {
  registered: { subscriptionId: string; status: SubscriptionStatus; position: string | null };
  read: { status: SubscriptionStatus; revision: number; termEnd: string };
  cancelled: { status: SubscriptionStatus; effectiveAt: string; purgeAt: string; events: string[] };
  preview: { allowed: boolean; refusal: ErrorCode | 'NONE'; effectiveAt: string | null };
  previewAsUser: { allowed: boolean; refusal: string | null };
  withdrawn: { status: SubscriptionStatus; events: string[] };
  cancelledAgain: { status: SubscriptionStatus; pendingUntil: string | null };
  terminated: { reason: string | null; effectiveAt: string; status: SubscriptionStatus };
  revoked: { termination: Subscription['termination']; events: string[] };
  legalHold: { legalHold: boolean; holdId: string | null; subscriptionLegalHold: boolean };
  audit: { types: string[]; nextCursor: string | null; hasMore: boolean; firstRecordedAt: string };
  unknown: { status: number; code: ErrorCode };
}

export async function runLifecycle(baseUrl: string, token: string): Promise<LifecycleReport> {
  // 'application/json': the JSON variant of every answer (the NDJSON export is another client).
  const api = createClient<paths, 'application/json'>({
    baseUrl,
    headers: { authorization: 'Bearer ' + token },
  });
  const id = 'sub_openapi_client';
  const accountId = 'acc_openapi_client';
  const annaOf = { actorId: 'usr_anna', role: 'billing_admin' };
  const fail = (what: string, res: { response: Response; error?: unknown }): never => {
    throw new Error(what + ': ' + res.response.status + ' ' + JSON.stringify(res.error));
  };

  const registration = await api.POST('/v1/subscriptions', {
    params: { header: { 'Idempotency-Key': 'openapi-client-register' } },
    body: {
      subscriptionId: id,
      accountId,
      productId: 'goto-meeting',
      plan: { kind: 'monthly' },
      termStart: '2026-01-31T00:00:00+01:00',
      timeZone: 'Europe/Rome',
      contract: false,
      autoRenew: true,
    },
  });
  if (!registration.data) return fail('register', registration);
  const registeredStatus: SubscriptionStatus = registration.data.status;

  const read = await api.GET('/v1/subscriptions/{id}', { params: { path: { id } } });
  if (!read.data) return fail('read', read);
  const readStatus: SubscriptionStatus = read.data.status;

  const cancellation = await api.POST('/v1/subscriptions/{id}/cancellation', {
    params: { path: { id }, header: { 'Idempotency-Key': 'openapi-client-cancel-1' } },
    body: { requestedBy: annaOf, channel: 'self_service', survey: { reason: 'too_expensive' } },
  });
  if (!cancellation.data) return fail('cancel', cancellation);

  const preview = await api.GET('/v1/subscriptions/{id}/cancellation-preview', {
    params: { path: { id }, query: { role: 'billing_admin', channel: 'self_service' } },
  });
  if (!preview.data) return fail('preview', preview);
  const previewAsUser = await api.GET('/v1/subscriptions/{id}/cancellation-preview', {
    params: { path: { id }, query: { role: 'user', channel: 'self_service' } },
  });
  if (!previewAsUser.data) return fail('preview as user', previewAsUser);

  const withdrawal = await api.DELETE('/v1/subscriptions/{id}/cancellation', {
    params: { path: { id } },
    body: { requestedBy: annaOf, channel: 'self_service' },
  });
  if (!withdrawal.data) return fail('withdraw', withdrawal);

  const again = await api.POST('/v1/subscriptions/{id}/cancellation', {
    params: { path: { id }, header: { 'Idempotency-Key': 'openapi-client-cancel-2' } },
    body: { requestedBy: annaOf, channel: 'self_service' },
  });
  if (!again.data) return fail('cancel again', again);

  const termination = await api.POST('/v1/subscriptions/{id}/termination', {
    params: { path: { id } },
    body: {
      requestedBy: { actorId: 'svc_billing', role: 'system' },
      reason: 'payment_failed',
      effective: 'term_end',
    },
  });
  if (!termination.data) return fail('terminate', termination);

  const revocation = await api.DELETE('/v1/subscriptions/{id}/termination', {
    params: { path: { id } },
    body: { requestedBy: { actorId: 'svc_billing', role: 'system' } },
  });
  if (!revocation.data) return fail('revoke', revocation);

  const hold = await api.POST('/v1/accounts/{accountId}/legal-hold', {
    params: { path: { accountId } },
    body: { reason: 'Case 2026-031', requestedBy: { actorId: 'ops_marco', role: 'operator' } },
  });
  if (!hold.data) return fail('legal hold', hold);
  const held = await api.GET('/v1/subscriptions/{id}', { params: { path: { id } } });
  if (!held.data) return fail('read after hold', held);

  const audit = await api.GET('/v1/audit/events', {
    params: {
      query: { accountId, minPosition: hold.data.position ?? undefined, limit: 50 },
    },
  });
  if (!audit.data) return fail('audit events', audit);
  const first = audit.data.items[0];
  if (!first) throw new Error('audit events: empty page');

  const unknown = await api.GET('/v1/subscriptions/{id}', {
    params: { path: { id: 'sub_nobody' } },
  });
  if (!unknown.error) throw new Error('an unknown subscription answered ' + unknown.response.status);

  const refusal = preview.data.refusals[0];
  return {
    registered: {
      subscriptionId: registration.data.subscriptionId,
      status: registeredStatus,
      position: registration.data.position,
    },
    read: {
      status: readStatus,
      revision: read.data.revision,
      termEnd: read.data.currentTerm.end,
    },
    cancelled: {
      status: cancellation.data.subscription.status,
      effectiveAt: cancellation.data.effectiveAt,
      purgeAt: cancellation.data.purgeAt,
      events: cancellation.data.events,
    },
    preview: {
      allowed: preview.data.allowed,
      refusal: refusal ? refusal.code : 'NONE',
      effectiveAt: preview.data.effectiveAt,
    },
    previewAsUser: {
      allowed: previewAsUser.data.allowed,
      refusal: previewAsUser.data.refusals[0]?.code ?? null,
    },
    withdrawn: { status: withdrawal.data.status, events: withdrawal.data.events },
    cancelledAgain: {
      status: again.data.subscription.status,
      pendingUntil: again.data.subscription.pendingUntil,
    },
    terminated: {
      reason: termination.data.subscription.termination?.reason ?? null,
      effectiveAt: termination.data.effectiveAt,
      status: termination.data.subscription.status,
    },
    revoked: { termination: revocation.data.termination, events: revocation.data.events },
    legalHold: {
      legalHold: hold.data.legalHold,
      holdId: hold.data.holdId,
      subscriptionLegalHold: held.data.legalHold,
    },
    audit: {
      types: audit.data.items.map((e) => e.type),
      nextCursor: audit.data.nextCursor,
      hasMore: audit.data.hasMore,
      firstRecordedAt: first.recordedAt,
    },
    unknown: { status: unknown.response.status, code: unknown.error.error.code },
  };
}
`;
