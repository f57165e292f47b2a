import type { CyborgEvent } from '@cyborg/contracts';

/** An event as domain logic sees it: one of the log's typed events. No I/O here. */
export type DomainEvent = CyborgEvent;

/** Folds events into state: the one way every aggregate is loaded. */
export function fold<S, E>(events: readonly E[], evolve: (state: S, event: E) => S, initial: S): S {
  return events.reduce(evolve, initial);
}
