import { DomainError } from '../shared/domain-error';
import type { CancellationRefused, ReactivationRefused } from './subscription.events';

/**
 * D6: a refusal by policy is a fact. The decider writes it (one CancellationRefused, or one
 * ReactivationRefused after a termination for fraud: D8) instead of
 * throwing, and the caller then answers with its error. Given the events a command wrote (or, for
 * a repeated idempotency key, those the first request wrote), this is that error, or null when
 * the command was not refused. The command side asks this instead of knowing the event's name.
 */
export function recordedRefusal(
  events: readonly { readonly type: string; readonly data: unknown }[],
): DomainError | null {
  const refused = events.find(
    (e): e is CancellationRefused | ReactivationRefused =>
      e.type === 'CancellationRefused' || e.type === 'ReactivationRefused',
  );
  if (!refused) return null;
  const { code, message, rule } = refused.data;
  return new DomainError(code, message, { rule, recorded: true });
}
