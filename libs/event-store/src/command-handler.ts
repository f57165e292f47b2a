import { createHash } from 'node:crypto';
import { retry } from '@cyborg/config';
import { CommandAlreadyHandledError, CommandIdReusedError, WrongExpectedVersionError } from './errors';
import type { EventStore } from './event-store';
import { canonicalJson } from './hash';
import { type StreamState, StreamStateCache, type StreamType } from './stream-state-cache';
import {
  type AppendRequest,
  type Checkpoint,
  type EventLike,
  type EventMetadata,
  type NewEvent,
  NO_STREAM,
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

/**
 * The one way a command runs (emmett's `handleCommand`, over several
 * streams): load the streams it decides on, decide, append with the versions
 * read, all or nothing. A stream that moved meanwhile fails the append on
 * its expected version; the command is then decided again against the
 * reloaded streams. The command row is written in the append's own statement,
 * so a replayed id appends nothing and answers the first result, and the
 * happy path pays no duplicate check. A refusal (decide throws) of a command
 * handled before answers its first result too.
 */
export class CommandHandler<E extends EventLike = EventLike> {
  private readonly caches = new Map<StreamType<unknown, E>, StreamStateCache<unknown, E>>();

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
    return retry(
      async () => {
        const versions = new Map<string, number>();
        const read: ReadStream<E> = async (type, streamId) => {
          const loaded = await this.read(type, streamId);
          versions.set(streamId, loaded.version);
          return loaded;
        };
        let decision: Decision<R, E>;
        try {
          decision = await decide(read);
        } catch (refusal) {
          // A replay decided against what its first run changed: answer as the first run did.
          const first = await this.recorded<R>(command, payloadHash);
          if (first) return first;
          throw refusal;
        }
        const appends: AppendRequest<E>[] = decision.appends
          .filter((a) => a.events.length > 0)
          .map((a) => ({
            streamId: a.streamId,
            expectedVersion: versions.get(a.streamId) ?? NO_STREAM,
            events: a.events,
          }));
        try {
          const appended = await this.store.appendCommand(appends, command.metadata, {
            commandId: command.commandId,
            type: command.type,
            payloadHash,
            result: decision.result,
          });
          return { result: decision.result, checkpoint: appended.checkpoint, duplicate: false };
        } catch (error) {
          if (!(error instanceof CommandAlreadyHandledError)) throw error;
          const first = await this.recorded<R>(command, payloadHash);
          if (!first) throw error;
          return first;
        }
      },
      {
        initialMs: 2,
        maxMs: 50,
        jitter: true,
        attempts: this.options.maxAttempts ?? 10,
        retryOn: (error) => error instanceof WrongExpectedVersionError,
      },
    );
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
