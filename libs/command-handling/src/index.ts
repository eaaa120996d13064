export * from './command-context';
export * from './command-errors';
export * from './handle-command';
