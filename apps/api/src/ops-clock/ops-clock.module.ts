import { Module } from '@nestjs/common';
import { ClockSyncHook } from './clock-sync.hook';
import { OpsClockController } from './ops-clock.controller';

/** GET/POST /v1/ops/clock (controlled clock mode only), and the shared clock's per-request sync. */
@Module({ controllers: [OpsClockController], providers: [ClockSyncHook] })
export class OpsClockModule {}
