import { Controller, Get, Param, Query } from '@nestjs/common';
import { z } from 'zod';
import { previewCancellation } from '@app/domain';
import { CommandRunner } from '@app/infrastructure';
import { RequireScope } from '../http/auth';
import { idSchema, roleSchema } from '../http/common-schemas';
import { parseInput } from '../http/zod-validation';
import { SubscriptionReader } from '../subscription-reader';
import type { SubscriptionView } from '../subscription-view';

const previewQuerySchema = z.object({
  role: roleSchema,
  channel: z.enum(['self_service', 'support']),
});

/** Reads straight from the stream: always current, no projection lag. */
@Controller('v1/subscriptions/:id')
export class GetSubscriptionController {
  constructor(
    private readonly reader: SubscriptionReader,
    private readonly runner: CommandRunner,
  ) {}

  @Get()
  @RequireScope('subscriptions:read')
  async get(@Param('id') rawId: string): Promise<SubscriptionView> {
    const { state, revision } = await this.reader.load(parseInput(idSchema, rawId, 'params'));
    return this.reader.view(state, revision);
  }

  /** R19: the pre-cancellation checklist, computed by the same policy as the decision. */
  @Get('cancellation-preview')
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
