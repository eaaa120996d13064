import type { EventActor } from '@app/event-store';

/** Who asks, through which channel, under which ids: becomes every new event's metadata. */
export interface CommandContext {
  /** The idempotency key (scoped by the caller, e.g. per calling service); null when none was sent. */
  readonly commandId: string | null;
  /** Fingerprint of the request behind the key (never the request itself: it may hold personal data). */
  readonly requestHash: string | null;
  readonly correlationId: string;
  readonly causationId: string | null;
  readonly actor: EventActor | null;
  readonly channel: string | null;
}
