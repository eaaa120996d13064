// Operator tools shared by the CLI (apps/ops) and the ops HTTP routes (apps/api): replay of the
// read models, verification, stream inspection, audit export, lifecycle jobs.
export * from './read-model-checksums';
export * from './read-model-replay';
export * from './read-model-verify';
export * from './stream-inspection';
export * from './audit-export';
export * from './lifecycle-jobs';
export * from './ops-resources';
export * from './operator-actions';
