// Public API of @app/platform: clock, configuration, logging, private Redis.
export * from './errors';
export * from './clock';
export * from './config';
export * from './logging';
export * from './redis';
