/** DI tokens for what the infrastructure module provides (interfaces vanish at runtime). */
export const APP_CONFIG = Symbol.for('app.infrastructure.AppConfig');
export const LOGGER = Symbol.for('app.infrastructure.Logger');
/** The event store every command and reader uses: upcasting over decryption over the raw log. */
export const EVENT_STORE = Symbol.for('app.infrastructure.EventStore');
/**
 * EVENT_STORE with personal fields left sealed on read (no key read): for the lifecycle's jobs and
 * the purge, which decide from streams and never show a personal field.
 */
export const SEALED_EVENT_STORE = Symbol.for('app.infrastructure.SealedEventStore');
/** The raw log, for maintenance (WAL checkpoints after a purge) and ops tools. */
export const RAW_EVENT_STORE = Symbol.for('app.infrastructure.RawEventStore');
export const KEY_STORE = Symbol.for('app.infrastructure.KeyStore');
/** Client idempotency keys bound to their first stream and request (shared-state/idempotency-keys). */
export const IDEMPOTENCY_KEYS = Symbol.for('app.infrastructure.IdempotencyKeys');
export { CLOCK } from '@app/platform';
