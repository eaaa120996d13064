import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ReadDb } from '@app/read-models';
import { RequireScope } from '../http/auth';
import { RESPONSES } from '../read-side/response-schemas';

export interface OpenPurge {
  subscriptionId: string;
  accountId: string | null;
  purgeId: string | null;
  startedAt: string;
  /** Data holders that confirmed so far; the others keep the purge open. */
  holdersDone: string[];
  holders: string[];
  /**
   * D11: what the last verification found left behind, per holder (empty: none found, or not
   * asked yet). Data found keeps the purge open; the job deletes again and asks again.
   */
  remaining: { holder: string; remainingItems: number; checkedAt: string }[];
}

/**
 * R15, D11: purges that started but have no ProductDataPurged yet — typically a data holder that
 * keeps failing, or one that still finds data when asked to verify. An open purge is never reported done; operators watch this list (and the
 * purges_total{outcome="open"} and purge_verification_failures_total metrics) until it is empty.
 */
@ApiTags('operations')
@Controller('v1/ops/purges')
export class OpenPurgesController {
  constructor(private readonly readDb: ReadDb) {}

  @Get('open')
  @ApiOperation({
    operationId: 'listOpenPurges',
    summary: 'Purges started and not completed (a data holder keeps failing, or still finds data)',
  })
  @ApiOkResponse({ description: 'The open purges', schema: RESPONSES.openPurges })
  @RequireScope('ops')
  async open(): Promise<{ items: OpenPurge[] }> {
    const db = this.readDb.db;
    const rows = await db
      .selectFrom('rm_audit_events')
      .select(['subscription_id', 'account_id', 'type', 'data', 'recorded_at'])
      .where('type', 'in', [
        'PurgeStarted',
        'ProductDataHolderPurged',
        'PurgeVerificationFailed',
        'PurgeVerified',
      ])
      .where('subscription_id', 'not in', (q) =>
        q
          .selectFrom('rm_audit_events')
          .select('subscription_id')
          .where('type', '=', 'ProductDataPurged')
          .where('subscription_id', 'is not', null),
      )
      .orderBy('position')
      .execute();
    const open = new Map<string, OpenPurge>();
    for (const row of rows) {
      if (!row.subscription_id) continue;
      const data = JSON.parse(row.data) as {
        purgeId?: string;
        receipt?: { holder?: string };
        checkedAt?: string;
        holders?: string[] | { holder: string; remainingItems: number }[];
      };
      if (row.type === 'PurgeStarted')
        open.set(row.subscription_id, {
          subscriptionId: row.subscription_id,
          accountId: row.account_id,
          purgeId: data.purgeId ?? null,
          startedAt: row.recorded_at,
          holders: (data.holders as string[] | undefined) ?? [],
          holdersDone: [],
          remaining: [],
        });
      else if (row.type === 'PurgeVerificationFailed') {
        const purge = open.get(row.subscription_id);
        if (purge)
          purge.remaining = (data.holders as { holder: string; remainingItems: number }[]).map(
            (h) => ({
              holder: h.holder,
              remainingItems: h.remainingItems,
              checkedAt: data.checkedAt!,
            }),
          );
      } else if (row.type === 'PurgeVerified') {
        const purge = open.get(row.subscription_id);
        if (purge) purge.remaining = [];
      } else if (data.receipt?.holder)
        open.get(row.subscription_id)?.holdersDone.push(data.receipt.holder);
    }
    return { items: [...open.values()] };
  }
}
