import { Inject, Injectable } from '@nestjs/common';
import { accountStreamId, DomainError } from '@app/domain';
import type { EventStore } from '@app/event-store';
import { RAW_EVENT_STORE } from '@app/infrastructure';
import {
  READ_MODELS_SETTINGS,
  ReadModelProjector,
  type ReadModelsSettings,
  ReadStore,
} from '@app/read-models';
import { ApiError } from './http/api-error';

/**
 * Whether an account exists: it has a stream of its own (a hold, an erasure) or a subscription
 * was registered for it. Accounts have no registration of their own, so the second is answered by
 * the read models once they include the whole log (a registration a moment ago counts); if they
 * cannot catch up within the read-your-writes wait, 503 READ_MODEL_BEHIND rather than a wrong 404.
 */
@Injectable()
export class AccountDirectory {
  constructor(
    @Inject(RAW_EVENT_STORE) private readonly log: EventStore,
    private readonly store: ReadStore,
    private readonly projector: ReadModelProjector,
    @Inject(READ_MODELS_SETTINGS) private readonly settings: ReadModelsSettings,
  ) {}

  /** 404 NOT_FOUND (nothing written) for an account this service has never heard of. */
  async requireKnown(accountId: string): Promise<void> {
    if ((await this.log.readStream(accountStreamId(accountId), { maxCount: 1 })).length > 0) return;
    const head = await this.log.headPosition();
    if (head !== null && !(await this.projector.waitFor(head, this.settings.maxWaitMs)))
      throw new ApiError(
        'READ_MODEL_BEHIND',
        'The read models are behind the log; retry shortly.',
        { position: head.toString() },
      );
    if (!(await this.store.hasSubscriptions(accountId)))
      throw new DomainError('NOT_FOUND', `Account ${accountId} has no subscription here.`);
  }
}
