import { DomainError, type DomainErrorCode } from '../kernel/domain-error';
import { type Decider, fold } from '../kernel/decider';

/**
 * given / when / then over a decider, in the style of emmett's DeciderSpecification:
 * given past events, when a command, then the new events (or nothing, or a refusal).
 */
export function deciderSpecification<C, E, S>(decider: Decider<C, E, S>) {
  return {
    given(events: readonly E[]) {
      return {
        when(command: C) {
          const run = (): E[] => decider.decide(command, fold(decider, events));
          return {
            then(expected: readonly E[]): E[] {
              const actual = run();
              expect(actual).toEqual(expected);
              return actual;
            },
            /** For assertions on parts of the result. */
            thenEvents(): E[] {
              return run();
            },
            thenNothingHappens(): void {
              expect(run()).toEqual([]);
            },
            thenThrows(code: DomainErrorCode, message?: RegExp): DomainError {
              let caught: unknown;
              try {
                run();
              } catch (e) {
                caught = e;
              }
              expect(caught).toBeInstanceOf(DomainError);
              const error = caught as DomainError;
              expect(error.code).toBe(code);
              if (message) expect(error.message).toMatch(message);
              return error;
            },
            /** The state after the given events and the new ones. */
            thenState(): S {
              return fold(decider, [...events, ...run()]);
            },
          };
        },
      };
    },
  };
}
