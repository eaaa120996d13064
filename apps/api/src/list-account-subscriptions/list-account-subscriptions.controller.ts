import { Controller, Get, Inject, Optional, Param, Query, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiIdParam } from '../docs/api-docs.decorators';
import type { FastifyReply } from 'fastify';
import { APP_CONFIG } from '@app/infrastructure';
import type { AppConfig } from '@app/platform';
import { ReadStore } from '@app/read-models';
import { RequireScope } from '../http/auth';
import { idSchema } from '../http/common-schemas';
import { parseInput } from '../http/zod-validation';
import { RESPONSES } from '../read-side/response-schemas';
import { ReadConsistency } from '../read-side/read-consistency';
import { type ListedSubscriptionView, toListedView } from '../read-side/subscription-list.view';
import { listAccountSubscriptionsQuerySchema } from './list-account-subscriptions.query';

/**
 * R16: an account's subscriptions from the read model. A cancelled subscription not yet at its
 * end is listed in the active section (status cancellation_pending, pendingUntil = expiresAt);
 * expired and purged ones come after, in the expired section. An account without subscriptions
 * has an empty list (accounts are not registered on their own).
 */
@ApiTags('queries')
@Controller('v1/accounts/:accountId/subscriptions')
export class ListAccountSubscriptionsController {
  constructor(
    private readonly store: ReadStore,
    private readonly consistency: ReadConsistency,
    @Optional() @Inject(APP_CONFIG) private readonly config: AppConfig | null = null,
  ) {}

  @Get()
  @RequireScope('subscriptions:read')
  @ApiOperation({
    operationId: 'listAccountSubscriptions',
    summary: "An account's subscriptions with status (R16)",
    description:
      'The active section first (a cancelled subscription is `cancellation_pending` with `pendingUntil`), then expired and purged. An unknown account has no subscriptions: `items: []`.',
  })
  @ApiOkResponse({ description: "The account's subscriptions", schema: RESPONSES.subscriptionList })
  @ApiIdParam('accountId', 'The account', 'acc_4711')
  async list(
    @Param('accountId', { schema: idSchema }) rawId: string,
    @Query({ schema: listAccountSubscriptionsQuerySchema }) rawQuery: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<{ items: ListedSubscriptionView[] }> {
    const accountId = parseInput(idSchema, rawId, 'params');
    const query = parseInput(listAccountSubscriptionsQuerySchema, rawQuery, 'query');
    await this.consistency.ensure(query, reply);
    const listed = await this.store.subscriptionsOf(accountId, query.status);
    return {
      items: listed
        .filter((s) => query.section === undefined || s.section === query.section)
        .map((s) => toListedView(s, this.config?.purgeNoticeDays)),
    };
  }
}
