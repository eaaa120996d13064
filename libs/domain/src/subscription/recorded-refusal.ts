import type { ErasureRefused } from '../account/account.events';
import { DomainError } from '../kernel/domain-error';
import type { CancellationRefused, ReactivationRefused } from './subscription.events';

/**
 * D6: a refusal by policy is a fact. The decider writes it (one CancellationRefused; after a
 * termination for fraud one ReactivationRefused, D8; for an erasure under a legal hold one
 * ErasureRefused, D10) instead of throwing, and the caller then answers with its error. Given the
 * events a command wrote (or, for a repeated idempotency key, those the first request wrote), this
 * is that error, or null when the command was not refused. The command side asks this instead of
 * knowing the events' names.
 */
export function recordedRefusal(
  events: readonly { readonly type: string; readonly data: unknown }[],
): DomainError | null {
  const refused = events.find(
    (e): e is CancellationRefused | ReactivationRefused | ErasureRefused =>
      e.type === 'CancellationRefused' ||
      e.type === 'ReactivationRefused' ||
      e.type === 'ErasureRefused',
  );
  if (!refused) return null;
  const { code, message, rule } = refused.data;
  return new DomainError(code, message, { rule, recorded: true });
}
