import { randomUUID } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import type { EventStore } from '@app/event-store';

/**
 * Operators' hands on lifecycle jobs, recorded in the log: who did what to which job, when. The
 * jobs themselves are derived from the log and rebuilt by the reconciler, but a promotion or a
 * retry changes when a decision is taken, so the audit trail must say it happened (the queue
 * dashboard is read-only for that reason). The events land in their own stream and, through the
 * audit rows, in the subscription's audit trail (`subscriptionId` in their data).
 */
export const OPERATOR_ACTIONS_STREAM = 'ops-actions';

export interface LifecycleJobAction {
  jobId: string;
  kind: string;
  subscriptionId: string | null;
  /** What the job was before: failed (retried) or delayed (promoted). */
  from: string;
  action: 'retried' | 'promoted';
}

/** The operator running the CLI: `--actor`, else the OS user at this host. */
export const defaultOperator = (): string => `${userInfo().username}@${hostname()}`;

export async function recordJobAction(
  log: EventStore,
  action: LifecycleJobAction,
  operator: string,
  at: Date,
): Promise<bigint> {
  const result = await log.appendToStream(
    OPERATOR_ACTIONS_STREAM,
    [
      {
        type: action.action === 'retried' ? 'LifecycleJobRetried' : 'LifecycleJobPromoted',
        data: { ...action, operator },
        metadata: {
          correlationId: randomUUID(),
          causationId: null,
          commandId: null,
          actor: { actorId: operator, role: 'user' },
          channel: 'operator',
          recordedAt: at.toISOString(),
          schemaVersion: 1,
        },
      },
    ],
    { expectedRevision: 'any' },
  );
  return result.position;
}
