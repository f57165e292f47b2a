import type { EventStore } from './event-store';
import type { EventLike, RecordedEvent } from './types';

export interface StreamState<S> {
  state: S;
  /** The stream version the state was folded to: the expected version of the next append. */
  version: number;
}

/** How one kind of stream folds into the state decisions are made on (emmett's `initialState` and `evolve`). */
export interface StreamType<S, E extends EventLike = EventLike> {
  initial: S;
  evolve: (state: S, event: RecordedEvent<E>) => S;
  /** How many folded states of this kind to keep; 10,000 unless said. */
  cached?: number;
}

/**
 * Folded states of recently used streams. Streams are append-only, so a cached
 * state only needs the events after its version: loading an unchanged stream
 * reads nothing but an empty result. Appends still name the version, so a
 * stale entry costs a retry, never a wrong decision.
 */
export class StreamStateCache<S, E extends EventLike = EventLike> {
  private readonly entries = new Map<string, StreamState<S>>();

  constructor(
    private readonly store: EventStore<E>,
    private readonly initial: S,
    private readonly evolve: (state: S, event: RecordedEvent<E>) => S,
    private readonly maxEntries = 10_000,
  ) {}

  static of<S, E extends EventLike>(store: EventStore<E>, type: StreamType<S, E>): StreamStateCache<S, E> {
    return new StreamStateCache(store, type.initial, type.evolve, type.cached ?? 10_000);
  }

  /** The state held for a stream, without reading: current as far as this process knows. */
  held(streamId: string): StreamState<S> | undefined {
    return this.entries.get(streamId);
  }

  /**
   * Folds events just appended at `fromVersion` into the state held, so the
   * next decision on the stream starts from it without reading. A state held
   * at another version (or none, for a stream that had events) stays as it is.
   */
  advance(streamId: string, fromVersion: number, events: readonly RecordedEvent<E>[]): void {
    if (events.length === 0) return;
    const held = this.entries.get(streamId) ?? (fromVersion === 0 ? { state: this.initial, version: 0 } : undefined);
    if (!held || held.version !== fromVersion) return;
    this.remember(streamId, {
      state: events.reduce(this.evolve, held.state),
      version: events[events.length - 1].version,
    });
  }

  async load(streamId: string): Promise<StreamState<S>> {
    const cached = this.entries.get(streamId) ?? { state: this.initial, version: 0 };
    const events = await this.store.readStream(streamId, { fromVersion: cached.version });
    if (events.length === 0) return cached;
    const next = { state: events.reduce(this.evolve, cached.state), version: events[events.length - 1].version };
    // A concurrent load may have gone further meanwhile: keep the newer state.
    const now = this.entries.get(streamId);
    if (now && now.version >= next.version) return next;
    this.remember(streamId, next);
    return next;
  }

  private remember(streamId: string, state: StreamState<S>): void {
    // Re-inserting keeps the map in least-recently-updated order.
    this.entries.delete(streamId);
    this.entries.set(streamId, state);
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
  }
}
