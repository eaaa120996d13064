import { Inject, Injectable, Optional } from '@nestjs/common';
import type { ErasureReceipt } from '@app/domain';
import { GenerationalKeyStore, KEY_STORE } from '@app/infrastructure';
import { READ_MODEL_SCRUBBER, type ReadModelScrubber } from './purge.ports';

/**
 * R17: erases an account's personal data now, without waiting for any purge: every data key of
 * the account is shredded (fields encrypted under them read `[erased]` for good, the events keep
 * their structure), read models are scrubbed and freed disk pages are compacted. Idempotent. The
 * erasure use case (apps/api erase-personal-data) runs it once the request's idempotency key is
 * claimed and records the receipt as PersonalDataErased.
 */
@Injectable()
export class PersonalDataEraser {
  constructor(
    @Inject(KEY_STORE) private readonly keys: GenerationalKeyStore,
    @Optional() @Inject(READ_MODEL_SCRUBBER) private readonly scrubber: ReadModelScrubber | null,
  ) {}

  async erase(accountId: string): Promise<ErasureReceipt> {
    const keysShredded = await this.keys.destroyAccount(accountId);
    const readModelRowsScrubbed = (await this.scrubber?.scrubAccount(accountId)) ?? 0;
    return { keysShredded, readModelRowsScrubbed };
  }
}
