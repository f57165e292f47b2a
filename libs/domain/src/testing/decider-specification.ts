import { DomainError } from '../domain-error';

/** A decision function with the fold of the streams it decides on. */
export interface Decider<C, S, E, R> {
  decide: (command: C, state: S) => R;
  evolve: (state: S, event: E) => S;
  initial: S;
}

/**
 * Decider tests that read as the behaviour they pin: given (events), when
 * (command), then (what is decided, or the refusal). As emmett's
 * `DeciderSpecification`; for specs only (it asserts with jest's expect).
 */
export function DeciderSpecification<C, S, E, R>(decider: Decider<C, S, E, R>) {
  return {
    given(events: readonly E[] = []) {
      return {
        when(command: C) {
          const decided = () => decider.decide(command, events.reduce(decider.evolve, decider.initial));
          return {
            /** Exactly this decision. */
            then(expected: R): void {
              expect(decided()).toEqual(expected);
            },
            /** A decision with at least these fields; returns it for further checks. */
            thenMatches(expected: object): R {
              const result = decided();
              expect(result).toMatchObject(expected);
              return result;
            },
            /** A refusal matching these fields (kind, code, message). */
            thenRefuses(expected: Partial<Pick<DomainError, 'kind' | 'code' | 'message'>>): void {
              const result = decided();
              expect(result).toBeInstanceOf(DomainError);
              expect(result).toMatchObject(expected);
            },
          };
        },
      };
    },
  };
}
