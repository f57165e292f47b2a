import { createHash } from 'node:crypto';
import { retry } from '@cyborg/config';
import { CommandAlreadyHandledError, CommandIdReusedError, WrongExpectedVersionError } from './errors';
import type { EventStore } from './event-store';
import { canonicalJson } from './hash';
import { type StreamState, StreamStateCache, type StreamType } from './stream-state-cache';
import {
  type AppendRequest,
  type AppendResult,
  type Checkpoint,
  type EventLike,
  type EventMetadata,
  type NewEvent,
  NO_STREAM,
  type RecordedEvent,
} from './types';

export interface Command<P = unknown> {
  /** Chosen by the caller; the same id replayed returns the first result and appends nothing. */
  commandId: string;
  type: string;
  payload: P;
  metadata: EventMetadata;
}

/** Loads a stream's folded state; within a command, the version read is what its append expects. */
export type ReadStream<E extends EventLike> = <S>(type: StreamType<S, E>, streamId: string) => Promise<StreamState<S>>;

/** What a command decided: the events for each stream and what to answer. */
export interface Decision<R, E extends EventLike = EventLike> {
  /**
   * Each stream's events expect the version the stream was read at in this
   * decision; a stream not read must be new. Streams without events are left out.
   */
  appends: { streamId: string; events: NewEvent<E>[] }[];
  result: R;
}

export interface CommandOutcome<R> {
  result: R;
  /** The log position of the command's last event; readers that reach it see the change. */
  checkpoint: Checkpoint | null;
  /** True when the command id had been handled before. */
  duplicate: boolean;
}

export interface CommandHandlerOptions {
  /** Decisions per command when streams keep moving under it. */
  maxAttempts?: number;
  /** Folded states kept of a stream kind, in place of the kind's own `cached` (an operator's setting). */
  cachedStates?: ReadonlyMap<object, number>;
}

/** Streams created by this handler held until first read; the oldest are forgotten (read from the log then). */
const MAX_CREATED_STREAMS = 10_000;

/** A decision made on a held state of a stream it did not append to, which another process had moved since. */
class StaleReadError extends Error {}

/** One stream a decision read: the version read, whether from memory, and its kind's cache for it. */
interface StreamRead<E extends EventLike> {
  version: number;
  held: boolean;
  /** Its version in the log now (its cache brought up to date). */
  current(): Promise<number>;
  /** Folds the events just appended after the version read into its cache. */
  appended(events: readonly RecordedEvent<E>[]): void;
}

/**
 * The one way a command runs (emmett's `handleCommand`, over several
 * streams): load the streams it decides on, decide, append with the versions
 * read, all or nothing. A first decision takes each stream's state as this
 * process holds it (folded up to its own last append or read), without
 * reading; only a stream it holds nothing for is read. A stream that moved
 * meanwhile (another process appended) fails the append on its expected
 * version; a stream read from memory but not appended to is checked against
 * the log before the decision stands (a refusal too). Either way the command
 * is then decided again against streams read from the log. The command row is written in the append's own statement,
 * so a replayed id appends nothing and answers the first result, and the
 * happy path pays no duplicate check. A refusal (decide throws) of a command
 * handled before answers its first result too.
 */
export class CommandHandler<E extends EventLike = EventLike> {
  private readonly caches = new Map<StreamType<unknown, E>, StreamStateCache<unknown, E>>();
  /**
   * Streams this handler created, with the events it appended to them: the
   * whole stream at that version, held until a decision reads it (its kind
   * is known then), so the command after the one that created it reads nothing.
   */
  private readonly created = new Map<string, RecordedEvent<E>[]>();

  constructor(
    private readonly store: EventStore<E>,
    private readonly options: CommandHandlerOptions = {},
  ) {}

  /** A stream's folded state, from the cache of its kind; for reads outside a command. */
  readonly read: ReadStream<E> = <S>(type: StreamType<S, E>, streamId: string) => this.cacheOf(type).load(streamId);

  async handle<R>(
    command: Command,
    decide: (read: ReadStream<E>) => Promise<Decision<R, E>>,
  ): Promise<CommandOutcome<R>> {
    const payloadHash = hashPayload(command);
    // After a decision on held states turned out stale, every stream is read from the log.
    let fromLog = false;
    return retry(
      async () => {
        const reads = new Map<string, StreamRead<E>>();
        const read: ReadStream<E> = async <S>(type: StreamType<S, E>, streamId: string) => {
          const cache = this.cacheOf(type);
          const held = fromLog ? undefined : (cache.held(streamId) ?? this.adopt(cache, streamId));
          const loaded = held ?? (await cache.load(streamId));
          if (!reads.has(streamId)) {
            const { version } = loaded;
            reads.set(streamId, {
              version,
              held: held !== undefined,
              current: async () => (await cache.load(streamId)).version,
              appended: (events) => cache.advance(streamId, version, events),
            });
          }
          return loaded;
        };
        let decision: Decision<R, E>;
        try {
          decision = await decide(read);
        } catch (refusal) {
          if (await this.moved(reads, new Set())) {
            fromLog = true;
            throw new StaleReadError();
          }
          // A replay decided against what its first run changed: answer as the first run did.
          const first = await this.recorded<R>(command, payloadHash);
          if (first) return first;
          throw refusal;
        }
        const appends: AppendRequest<E>[] = decision.appends
          .filter((a) => a.events.length > 0)
          .map((a) => ({
            streamId: a.streamId,
            expectedVersion: reads.get(a.streamId)?.version ?? NO_STREAM,
            events: a.events,
          }));
        // The appended streams' versions are checked by the append; the others' here.
        if (await this.moved(reads, new Set(appends.map((a) => a.streamId)))) {
          fromLog = true;
          throw new StaleReadError();
        }
        let appended: AppendResult<E>;
        try {
          appended = await this.store.appendCommand(appends, command.metadata, {
            commandId: command.commandId,
            type: command.type,
            payloadHash,
            result: decision.result,
          });
        } catch (error) {
          if (error instanceof WrongExpectedVersionError) fromLog = true;
          if (!(error instanceof CommandAlreadyHandledError)) throw error;
          const first = await this.recorded<R>(command, payloadHash);
          if (!first) throw error;
          return first;
        }
        for (const { streamId, expectedVersion } of appends) {
          const events = appended.events.filter((e) => e.streamId === streamId);
          const streamRead = reads.get(streamId);
          if (streamRead) streamRead.appended(events);
          else if (expectedVersion === NO_STREAM) this.remember(streamId, events);
        }
        return { result: decision.result, checkpoint: appended.checkpoint, duplicate: false };
      },
      {
        initialMs: 2,
        maxMs: 50,
        jitter: true,
        attempts: this.options.maxAttempts ?? 10,
        retryOn: (error) => error instanceof WrongExpectedVersionError || error instanceof StaleReadError,
      },
    );
  }

  /** A stream this handler created, folded by the kind it is read as now; undefined when it holds none. */
  private adopt<S>(cache: StreamStateCache<S, E>, streamId: string): StreamState<S> | undefined {
    const events = this.created.get(streamId);
    if (!events) return undefined;
    this.created.delete(streamId);
    cache.advance(streamId, NO_STREAM, events);
    return cache.held(streamId);
  }

  private remember(streamId: string, events: RecordedEvent<E>[]): void {
    this.created.set(streamId, events);
    if (this.created.size > MAX_CREATED_STREAMS) {
      const oldest = this.created.keys().next();
      if (!oldest.done) this.created.delete(oldest.value);
    }
  }

  /** Whether a stream read from memory, and not among `appended`, has events past the version decided on. */
  private async moved(reads: ReadonlyMap<string, StreamRead<E>>, appended: ReadonlySet<string>): Promise<boolean> {
    const unchecked = [...reads].filter(([streamId, r]) => r.held && !appended.has(streamId));
    if (unchecked.length === 0) return false;
    const now = await Promise.all(unchecked.map(([, r]) => r.current()));
    return now.some((version, i) => version !== unchecked[i][1].version);
  }

  /** The outcome of a command handled before, or null; for commands answered without deciding (nothing changed). */
  async recorded<R>(command: Command, payloadHash = hashPayload(command)): Promise<CommandOutcome<R> | null> {
    const row = await this.store.recordedCommand(command.commandId);
    if (!row) return null;
    if (row.payloadHash !== payloadHash) throw new CommandIdReusedError(command.commandId);
    return { result: row.result as R, checkpoint: row.checkpoint, duplicate: true };
  }

  private cacheOf<S>(type: StreamType<S, E>): StreamStateCache<S, E> {
    let cache = this.caches.get(type as StreamType<unknown, E>);
    if (!cache) {
      const cached = this.options.cachedStates?.get(type);
      cache = StreamStateCache.of(this.store, {
        ...(type as StreamType<unknown, E>),
        ...(cached === undefined ? {} : { cached }),
      });
      this.caches.set(type as StreamType<unknown, E>, cache);
    }
    return cache as StreamStateCache<S, E>;
  }
}

function hashPayload(command: Command): string {
  return createHash('sha256')
    .update(canonicalJson({ type: command.type, payload: command.payload }))
    .digest('hex');
}
