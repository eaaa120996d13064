import { type DynamicModule, Module } from '@nestjs/common';
import { InfrastructureModule, type InfrastructureOptions } from '@app/infrastructure';
import { ApiModule } from './api.module';

/** The API process: infrastructure (config, clock, stores) + the HTTP API. */
@Module({})
export class AppModule {
  static forRoot(options: InfrastructureOptions = {}): DynamicModule {
    return { module: AppModule, imports: [InfrastructureModule.forRoot(options), ApiModule] };
  }
}
