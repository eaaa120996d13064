export * from './tokens';
export * from './data-keys';
export * from './command-runner';
export * from './event-store.factory';
export * from './infrastructure.module';
export * from './request-fingerprint';
export * from './generational-key-store';
export * from './upcasters';
