import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { previewCancellation } from '@app/domain';
import { CommandRunner } from '@app/infrastructure';
import { ApiErrors, ApiIdParam, ApiQueryFrom } from '../docs/api-docs.decorators';
import { RequireScope } from '../http/auth';
import { idSchema, roleSchema } from '../http/common-schemas';
import { parseInput } from '../http/zod-validation';
import { RESPONSES } from '../read-side/response-schemas';
import { SubscriptionReader } from '../subscription-reader';
import type { SubscriptionView } from '../subscription-view';

const previewQuerySchema = z.object({
  role: roleSchema,
  channel: z.enum(['self_service', 'support']),
});

/** Reads straight from the stream: always current, no projection lag. */
@ApiTags('queries')
@Controller('v1/subscriptions/:id')
export class GetSubscriptionController {
  constructor(
    private readonly reader: SubscriptionReader,
    private readonly runner: CommandRunner,
  ) {}

  @Get()
  @ApiOperation({
    operationId: 'getSubscription',
    summary: 'A subscription, folded from its stream (never lags)',
  })
  @ApiOkResponse({ description: 'The Subscription', schema: RESPONSES.subscription })
  @ApiIdParam('id', 'The subscription', 'sub_7f3a9c')
  @ApiErrors({ NOT_FOUND: 'no such subscription' })
  @RequireScope('subscriptions:read')
  async get(@Param('id') rawId: string): Promise<SubscriptionView> {
    const { state, revision } = await this.reader.load(parseInput(idSchema, rawId, 'params'));
    return this.reader.view(state, revision);
  }

  /** R19: the pre-cancellation checklist, computed by the same policy as the decision. */
  @Get('cancellation-preview')
  @ApiOperation({
    operationId: 'previewCancellation',
    summary: 'What a cancellation now would do, without doing it (R19)',
    description:
      'Computed by the same policy as the decision: `allowed`, every refusal, the dates, the refund, the notice deadline, the balance, the licences and the checklist to show before cancelling.',
  })
  @ApiOkResponse({ description: 'The preview', schema: RESPONSES.cancellationPreview })
  @ApiIdParam('id', 'The subscription', 'sub_7f3a9c')
  @ApiQueryFrom(previewQuerySchema, {
    role: 'The role of the person who would cancel (`billing_admin`, `product_admin`, `authorized_billing_contact`; any other counts as `user`)',
    channel: 'Where the cancellation would come from',
  })
  @ApiErrors({
    VALIDATION_FAILED: 'a malformed id, a missing or malformed `role` or `channel`',
    NOT_FOUND: 'no such subscription',
  })
  @RequireScope('subscriptions:read')
  async preview(@Param('id') rawId: string, @Query() rawQuery: unknown) {
    const id = parseInput(idSchema, rawId, 'params');
    const query = parseInput(previewQuerySchema, rawQuery, 'query');
    const { state } = await this.reader.load(id);
    const p = previewCancellation(state, query.role, query.channel, this.runner.now());
    return {
      ...p,
      refusals: p.refusals.map(({ code, message, rule }) => ({ code, message, rule })),
      checklist: [...p.checklist],
    };
  }
}
