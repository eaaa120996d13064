export {
  ShutdownInProgressError,
  ShutdownState,
  shutdownOnSignals,
  type ShutdownOnSignalsOptions,
} from './shutdown-state';
