import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { ReadinessService } from './readiness.service';

/**
 * Readiness checks for any process (api, worker). Needs InfrastructureModule; sees the
 * lifecycle and the read models through their global modules when the process has them.
 */
@Module({
  // Failures are answered in our error shape by the caller, not logged by terminus.
  imports: [TerminusModule.forRoot({ logger: false })],
  providers: [ReadinessService],
  exports: [ReadinessService],
})
export class HealthModule {}
