import { Module } from '@nestjs/common';
import type { AppConfig } from '@app/platform';
import { APP_CONFIG } from '@app/infrastructure';
import { PURGE_RUNNER } from '@app/scheduling';
import { HolderRegistry } from './holders/holder-registry';
import { LocalProductDataStore } from './holders/local-product-data.store';
import { PurgeProcess } from './purge-process';
import { PersonalDataEraser } from './personal-data-eraser';

/**
 * The purge (R15) and erasure (R17) processes with their data holders. Read-model scrubbing and job
 * removal are optional ports (READ_MODEL_SCRUBBER, LIFECYCLE_JOB_REMOVER) bound by the modules
 * that own those parts; the key store and the read models each compact the disk pages they freed.
 */
@Module({
  providers: [
    {
      provide: LocalProductDataStore,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => new LocalProductDataStore(config.dataDir),
    },
    {
      provide: HolderRegistry,
      inject: [LocalProductDataStore],
      useFactory: (local: LocalProductDataStore) => HolderRegistry.fromEnvironment(local),
    },
    PurgeProcess,
    // The lifecycle's purge job hands the whole purge to this process (R15).
    { provide: PURGE_RUNNER, useExisting: PurgeProcess },
    PersonalDataEraser,
  ],
  exports: [LocalProductDataStore, HolderRegistry, PurgeProcess, PURGE_RUNNER, PersonalDataEraser],
})
export class PurgeModule {}
