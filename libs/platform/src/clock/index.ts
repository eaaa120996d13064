export { type Clock, CLOCK } from './clock';
export { type InstantInput, toUtcInstant } from './instant';
export { SystemClock } from './system.clock';
export { FixedClock } from './fixed.clock';
export {
  ControlledClock,
  ClockBackwardsError,
  ClockListenerError,
  type AdvanceListener,
} from './controlled.clock';
export type { ClockStore } from './clock-store.port';
