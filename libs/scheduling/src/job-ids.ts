/**
 * Deterministic BullMQ job ids (docs/architecture.md "Jobs are derived and disposable"): the same
 * subscription and due instant always give the same id, so scheduling twice is harmless (BullMQ
 * ignores an add whose id exists). BullMQ refuses ':' in custom ids and all-digit ids; ours start
 * with a letter and carry only [A-Za-z0-9_-] (subscription ids are validated so at the API).
 */
export type LifecycleJobKind = 'term-end' | 'purge' | 'purge-notice';

const SAFE_ID = /^[A-Za-z0-9_-]+$/;

/** A subscription id as it may appear inside a job id (defensive: ids are already safe). */
function jobSafe(subscriptionId: string): string {
  if (SAFE_ID.test(subscriptionId)) return subscriptionId;
  return `x${Buffer.from(subscriptionId, 'utf8').toString('base64url')}`;
}

export function lifecycleJobId(
  kind: LifecycleJobKind,
  subscriptionId: string,
  dueMs: number,
): string {
  if (!Number.isSafeInteger(dueMs))
    throw new TypeError(`due time must be epoch milliseconds: ${dueMs}`);
  return `${kind}-${jobSafe(subscriptionId)}-${dueMs}`;
}

/** `term-end-<sub>-<epochMs>`: the job that processes the term end due at epochMs. */
export const termEndJobId = (subscriptionId: string, dueMs: number): string =>
  lifecycleJobId('term-end', subscriptionId, dueMs);

/** `purge-<sub>-<epochMs>`: the job that dispatches the purge due at epochMs. */
export const purgeJobId = (subscriptionId: string, dueMs: number): string =>
  lifecycleJobId('purge', subscriptionId, dueMs);

/**
 * `purge-notice-<sub>-<daysBefore>-<epochMs>`: the D7 notice `daysBefore` days before the purge,
 * due at epochMs. The offset is part of the id: two offsets never share one.
 */
export function purgeNoticeJobId(
  subscriptionId: string,
  daysBefore: number,
  dueMs: number,
): string {
  if (!Number.isSafeInteger(daysBefore) || daysBefore < 0)
    throw new TypeError(`daysBefore must be a whole number of days: ${daysBefore}`);
  if (!Number.isSafeInteger(dueMs))
    throw new TypeError(`due time must be epoch milliseconds: ${dueMs}`);
  return `purge-notice-${jobSafe(subscriptionId)}-${daysBefore}-${dueMs}`;
}

/** The offset written into a purge-notice job id (the part before the due instant), or null. */
export function daysBeforeOfNoticeJobId(jobId: string): number | null {
  if (!jobId.startsWith('purge-notice-')) return null;
  const match = /-(\d+)-\d+$/.exec(jobId);
  return match ? Number(match[1]) : null;
}

/** The due instant written into a job id (the part after the last '-'). */
export function dueMsOfJobId(jobId: string): number | null {
  const match = /-(\d+)$/.exec(jobId);
  return match ? Number(match[1]) : null;
}

/**
 * The subscription ids a job id may belong to (the reconciler looks their schedule rows up): the
 * part between the kind and the due instant, and, when that could be jobSafe's encoding of an id
 * with other characters (`x` + base64url), the decoded id too.
 */
export function subscriptionIdsOfJobId(jobId: string): string[] {
  const kind = ['purge-notice-', 'term-end-', 'purge-'].find((k) => jobId.startsWith(k));
  if (!kind) return [];
  const rest = jobId.slice(kind.length);
  const match = (kind === 'purge-notice-' ? /^(.+)-\d+-\d+$/ : /^(.+)-\d+$/).exec(rest);
  if (!match) return [];
  const id = match[1]!;
  const ids = [id];
  if (id.startsWith('x')) {
    const decoded = Buffer.from(id.slice(1), 'base64url').toString('utf8');
    if (decoded.length > 0 && jobSafe(decoded) === id) ids.push(decoded);
  }
  return ids;
}
