// Public API of @app/platform: clock, configuration, logging, private Redis, shutdown state,
// processes.
export * from './errors';
export * from './clock';
export * from './config';
export * from './logging';
export * from './redis';
export * from './shutdown';
export * from './process';
