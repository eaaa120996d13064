export * from './webhook-settings';
export * from './webhook-url';
export * from './webhook-store';
export * from './webhook-dispatcher';
export * from './webhooks.module';
