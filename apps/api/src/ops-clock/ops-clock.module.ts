import { Module } from '@nestjs/common';
import { OpsClockController } from './ops-clock.controller';

/** GET/POST /v1/ops/clock (controlled clock mode only). */
@Module({ controllers: [OpsClockController] })
export class OpsClockModule {}
