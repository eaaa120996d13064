import { Module } from '@nestjs/common';
import { QueueDashboard } from '../ops-queues/queue-dashboard';
import { OpsReplayController } from '../ops-replay/ops-replay.controller';
import { ReplayJobs } from '../ops-replay/replay-jobs';
import { OpsStreamsController } from '../ops-streams/ops-streams.controller';

/** Operators' HTTP routes (docs/http-api.md "Operations"): streams, replay, the queue dashboard. */
@Module({
  controllers: [OpsStreamsController, OpsReplayController],
  providers: [ReplayJobs, QueueDashboard],
})
export class OpsRoutesModule {}
