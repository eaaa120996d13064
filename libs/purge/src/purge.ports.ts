/** Read models that may hold a subscription's or account's personal data (issue: read models). */
export interface ReadModelScrubber {
  /**
   * Removes or blanks personal data of one subscription (or account); returns how many of its rows
   * are scrubbed afterwards (the same answer when called again, so a resumed purge counts right).
   */
  scrubSubscription(subscriptionId: string): Promise<number>;
  scrubAccount(accountId: string): Promise<number>;
}
export const READ_MODEL_SCRUBBER = Symbol.for('app.purge.ReadModelScrubber');

/** Pending lifecycle jobs of a subscription (issue: scheduling). */
export interface LifecycleJobRemover {
  /** Removes every pending job of the subscription; returns how many were removed. */
  removeJobsOf(subscriptionId: string): Promise<number>;
}
export const LIFECYCLE_JOB_REMOVER = Symbol.for('app.purge.LifecycleJobRemover');
