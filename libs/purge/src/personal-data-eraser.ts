import { Inject, Injectable, Optional } from '@nestjs/common';
import { accountDecider, type Actor, accountStreamId } from '@app/domain';
import type { CommandContext } from '@app/command-handling';
import { CommandRunner, GenerationalKeyStore, KEY_STORE } from '@app/infrastructure';
import {
  DISK_COMPACTORS,
  type DiskCompactor,
  READ_MODEL_SCRUBBER,
  type ReadModelScrubber,
} from './purge.ports';

export interface ErasureResult {
  accountId: string;
  keysShredded: string[];
  readModelRowsScrubbed: number;
  events: string[];
  position: string | null;
}

/**
 * R17: erases an account's personal data now, without waiting for any purge: every data key of
 * the account is shredded (fields encrypted under them read `[erased]` for good, the events keep
 * their structure), read models are scrubbed, freed disk pages are compacted, and the erasure is
 * recorded as PersonalDataErased with its receipt.
 */
@Injectable()
export class PersonalDataEraser {
  constructor(
    private readonly runner: CommandRunner,
    @Inject(KEY_STORE) private readonly keys: GenerationalKeyStore,
    @Optional() @Inject(READ_MODEL_SCRUBBER) private readonly scrubber: ReadModelScrubber | null,
    @Optional() @Inject(DISK_COMPACTORS) private readonly compactors: DiskCompactor[] | null,
  ) {}

  async erase(
    accountId: string,
    requestedBy: Actor,
    reason: string,
    context: CommandContext,
  ): Promise<ErasureResult> {
    const keysShredded = await this.keys.destroyAccount(accountId);
    const rows = (await this.scrubber?.scrubAccount(accountId)) ?? 0;
    for (const c of this.compactors ?? []) await c.compact();
    const result = await this.runner.run(
      accountStreamId(accountId),
      accountDecider,
      {
        type: 'RecordPersonalDataErasure',
        data: {
          accountId,
          requestedBy,
          reason,
          receipt: { keysShredded, readModelRowsScrubbed: rows },
          now: this.runner.now(),
        },
      },
      context,
    );
    return {
      accountId,
      keysShredded,
      readModelRowsScrubbed: rows,
      events: result.events.map((e) => e.type),
      position: result.position?.toString() ?? null,
    };
  }
}
