import type { CyborgEvent } from '@cyborg/contracts';
import type { EventLike, RecordedEvent } from '@cyborg/event-store';
import type { EntityManager } from 'typeorm';
import { RowFold, type TableSpec } from './fold/row-fold';

/**
 * A read model kept from the log. apply() runs in the same transaction as the
 * projection's checkpoint, so each event takes effect exactly once. A read
 * model is disposable: rebuilding from the start of the log gives the same rows.
 */
export interface Projection<E extends EventLike = CyborgEvent> {
  readonly name: string;
  readonly eventTypes: readonly string[];
  /** The tables this projection owns, rebuilt together. */
  readonly tables: readonly string[];
  readonly apply: (event: RecordedEvent<E>, tx: EntityManager) => Promise<void>;
  /** Applies events in log order, ending where apply() on each in turn ends, in a few statements. */
  readonly applyBatch?: (events: readonly RecordedEvent<E>[], tx: EntityManager) => Promise<void>;
}

/** A projection's batch: set-based where it can, else one event at a time. */
export async function applyEvents<E extends EventLike>(
  projection: Projection<E>,
  events: readonly RecordedEvent<E>[],
  tx: EntityManager,
): Promise<void> {
  if (events.length === 0) return;
  if (projection.applyBatch) return projection.applyBatch(events, tx);
  for (const event of events) await projection.apply(event, tx);
}

type CyborgEventType = CyborgEvent['type'];

/** What one event of type `T` does to a projection's rows, in memory. */
export type FoldHandler<T extends CyborgEventType = CyborgEventType> = (
  event: RecordedEvent<Extract<CyborgEvent, { type: T }>>,
  rows: RowFold,
) => void;

/** By event type, each handler given that type's event. */
export type FoldHandlers = { readonly [T in CyborgEventType]?: FoldHandler<T> };

export interface FoldingProjectionDefinition {
  name: string;
  tables: readonly TableSpec[];
  /** By event type: the types the projection follows. */
  handlers: FoldHandlers;
}

/** The handler of the event's own type, if any (generic over the type, so the event fits its handler). */
function foldOne<T extends CyborgEventType>(
  handlers: FoldHandlers,
  type: T,
  event: RecordedEvent<Extract<CyborgEvent, { type: T }>>,
  rows: RowFold,
): void {
  handlers[type]?.(event, rows);
}

/**
 * A projection written once, as in-memory changes to rows: one event alone is
 * a batch of one, and a batch reads the rows it touches once, applies every
 * event in order and writes only the difference (multi-row DELETE, UPDATE
 * ... FROM and INSERT ... SELECT), so a batch ends exactly where its events
 * one by one would.
 */
export function foldingProjection(definition: FoldingProjectionDefinition): Projection {
  const { name, tables, handlers } = definition;
  const apply = (event: RecordedEvent<CyborgEvent>, rows: RowFold) => foldOne(handlers, event.type, event, rows);
  const applyBatch = (events: readonly RecordedEvent<CyborgEvent>[], tx: EntityManager) =>
    new RowFold(tables).run(events, apply, tx);
  return {
    name,
    eventTypes: Object.keys(handlers),
    tables: tables.map((t) => t.name),
    apply: (event, tx) => applyBatch([event], tx),
    applyBatch,
  };
}
