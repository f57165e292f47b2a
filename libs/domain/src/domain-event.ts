/** An event as domain logic sees it: a type name and its data. No I/O here. */
export interface DomainEvent {
  type: string;
  data: Record<string, unknown>;
}

/** Folds events into state: the one way every aggregate is loaded. */
export function fold<S>(events: readonly DomainEvent[], evolve: (state: S, event: DomainEvent) => S, initial: S): S {
  return events.reduce(evolve, initial);
}
