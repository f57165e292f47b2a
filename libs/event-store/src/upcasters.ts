import type { EventData, EventLike } from './types';

export type Upcast = (data: EventData) => EventData;

interface EventTypeEntry {
  currentVersion: number;
  /** upcasts[v] turns schema version v into v + 1. */
  upcasts: Map<number, Upcast>;
}

/**
 * Event types and their schema versions. Old events are upcast on every read
 * path (aggregates, projections, relay, audit), never rewritten in the log.
 */
export class EventTypeRegistry<E extends EventLike = EventLike> {
  /** Type only: the union of events a store with this registry reads and appends. */
  declare readonly events?: E;
  private readonly types = new Map<string, EventTypeEntry>();

  /** `schemas.events`, a type only, names the union of the events the schemas describe. */
  static from<E extends EventLike = EventLike>(
    schemas: readonly { type: string; schemaVersion: number; upcasts?: Record<number, Upcast> }[] & {
      readonly events?: E;
    },
  ): EventTypeRegistry<E> {
    const registry = new EventTypeRegistry<E>();
    for (const s of schemas) registry.register(s.type, s.schemaVersion, s.upcasts ?? {});
    return registry;
  }

  register(type: string, currentVersion = 1, upcasts: Record<number, Upcast> = {}): this {
    for (let v = 1; v < currentVersion; v++) {
      if (!upcasts[v]) throw new Error(`event ${type}: no upcaster from schema version ${v}`);
    }
    this.types.set(type, {
      currentVersion,
      upcasts: new Map(Object.entries(upcasts).map(([v, f]) => [Number(v), f])),
    });
    return this;
  }

  currentVersion(type: string): number {
    return this.types.get(type)?.currentVersion ?? 1;
  }

  isKnown(type: string): boolean {
    return this.types.has(type);
  }

  /** Brings `data` from `schemaVersion` up to the current version of its type. */
  upcast(type: string, schemaVersion: number, data: EventData): { schemaVersion: number; data: EventData } {
    const entry = this.types.get(type);
    if (!entry) return { schemaVersion, data };
    let version = schemaVersion;
    let current = data;
    while (version < entry.currentVersion) {
      const step = entry.upcasts.get(version);
      if (!step) throw new Error(`event ${type}: no upcaster from schema version ${version}`);
      current = step(current);
      version++;
    }
    return { schemaVersion: version, data: current };
  }
}
