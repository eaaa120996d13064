// Public surface of @app/scheduling: the lifecycle scheduler, its jobs, processors, reconciler,
// controlled-clock driver and the Nest module that runs them.
export * from './job-ids';
export * from './queues';
export * from './desired-jobs';
export * from './schedule-table';
export * from './lifecycle-queues';
export * from './lifecycle-scheduler';
export * from './job-processors';
export * from './lifecycle-workers';
export * from './reconciler';
export * from './schedule-loader';
export * from './clock-driver';
export * from './lifecycle-redis';
export * from './lifecycle-settings';
export * from './lifecycle';
export * from './errors';
export * from './metrics';
export * from './lifecycle.module';
