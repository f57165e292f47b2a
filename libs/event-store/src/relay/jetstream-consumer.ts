import { Backoff } from '@cyborg/config';
import { Logger } from '@nestjs/common';
import {
  AckPolicy,
  type ConsumerMessages,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { EventData, EventMetadata } from '../types';
import type { EventTypeRegistry } from '../upcasters';
import { ensureEventsStream, type EventsStreamOptions, eventsStreamName, type RelayOptions } from './jetstream-relay';

/** A relayed event as a consumer receives it: the recorded event, upcast, with its JetStream sequence. */
export interface RelayedEvent {
  eventId: string;
  streamId: string;
  category: string;
  version: number;
  position: number;
  type: string;
  schemaVersion: number;
  data: EventData;
  metadata: EventMetadata;
  occurredAt: string;
  /** Where the message sits in the events stream. */
  sequence: number;
}

export class MalformedRelayedEventError extends Error {}

/** Parses and upcasts one message body; a body that is not a relayed event is refused, never half-read. */
export function parseRelayedEvent(body: string, sequence: number, registry?: EventTypeRegistry): RelayedEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new MalformedRelayedEventError(`message ${sequence} is not JSON`);
  }
  const e = parsed as Partial<Record<keyof RelayedEvent, unknown>>;
  const ok =
    typeof parsed === 'object' &&
    parsed !== null &&
    typeof e.eventId === 'string' &&
    typeof e.streamId === 'string' &&
    typeof e.type === 'string' &&
    Number.isInteger(e.version) &&
    (e.version as number) > 0 &&
    typeof e.data === 'object' &&
    e.data !== null;
  if (!ok) throw new MalformedRelayedEventError(`message ${sequence} is not a relayed event`);
  const schemaVersion = Number.isInteger(e.schemaVersion) ? (e.schemaVersion as number) : 1;
  const upcast = registry
    ? registry.upcast(e.type as string, schemaVersion, e.data as EventData)
    : { schemaVersion, data: e.data as EventData };
  return {
    eventId: e.eventId as string,
    streamId: e.streamId as string,
    category: typeof e.category === 'string' ? e.category : '',
    version: e.version as number,
    position: Number(e.position ?? 0),
    type: e.type as string,
    schemaVersion: upcast.schemaVersion,
    data: upcast.data,
    metadata: (e.metadata ?? {}) as EventMetadata,
    occurredAt: typeof e.occurredAt === 'string' ? e.occurredAt : '',
    sequence,
  };
}

export interface ReplayOptions extends EventsStreamOptions {
  /** e.g. `cyborg.events.host.>` */
  filterSubject: string;
  registry?: EventTypeRegistry;
  onEvent: (event: RelayedEvent) => void;
  onMalformed?: (error: MalformedRelayedEventError) => void;
}

/**
 * Reads every event on `filterSubject` from the start of the events stream up to
 * its end at the time of the call, in order, with an ordered (ephemeral)
 * consumer. Returns how many messages were read.
 */
export async function replayEvents(nc: NatsConnection, options: ReplayOptions): Promise<number> {
  const jsm = await jetstreamManager(nc);
  const stream = eventsStreamName(options);
  const info = await jsm.streams.info(stream, { subjects_filter: options.filterSubject });
  const total = Object.values(info.state.subjects ?? {}).reduce((sum, n) => sum + n, 0);
  if (total === 0) return 0;
  const consumer = await jetstream(nc).consumers.get(stream, {
    filter_subjects: options.filterSubject,
    deliver_policy: DeliverPolicy.All,
  });
  const messages = await consumer.consume({ max_messages: 512 });
  let read = 0;
  try {
    for await (const m of messages) {
      read++;
      try {
        options.onEvent(parseRelayedEvent(m.string(), m.seq, options.registry));
      } catch (error) {
        if (!(error instanceof MalformedRelayedEventError)) throw error;
        options.onMalformed?.(error);
      }
      if (m.info.pending === 0) break;
    }
  } finally {
    messages.stop();
  }
  return read;
}

export interface DurableConsumerOptions extends RelayOptions {
  durableName: string;
  filterSubject: string;
  registry?: EventTypeRegistry;
  /** Handles one event; the message is acked once this resolves, redelivered later if it throws. */
  onEvent: (event: RelayedEvent) => void | Promise<void>;
  ackWaitMs?: number;
  maxAckPending?: number;
  /** How long a failed message waits before it is delivered again. */
  redeliverDelayMs?: number;
}

/**
 * A durable pull consumer of the events stream with explicit acks. Its handler
 * must be idempotent: JetStream delivers at least once. A malformed message
 * is logged and terminated, never retried forever and never fatal.
 */
export class DurableEventConsumer {
  private readonly logger: Logger;
  private running = false;
  private loop: Promise<void> | null = null;
  private messages: ConsumerMessages | null = null;

  constructor(
    private readonly nc: NatsConnection,
    private readonly options: DurableConsumerOptions,
  ) {
    this.logger = new Logger(`consumer:${options.durableName}`);
  }

  /**
   * Creates the stream and the durable consumer when missing (idempotent);
   * an existing consumer with another replica count is scaled as the stream is.
   */
  async ensure(): Promise<void> {
    await ensureEventsStream(this.nc, this.options);
    const jsm = await jetstreamManager(this.nc);
    const stream = eventsStreamName(this.options);
    const replicas = this.options.replicas ?? 1;
    const config = {
      durable_name: this.options.durableName,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: this.options.filterSubject,
      ack_wait: (this.options.ackWaitMs ?? 30_000) * 1_000_000,
      max_ack_pending: this.options.maxAckPending ?? 10_000,
      max_deliver: -1,
      num_replicas: replicas,
    };
    try {
      await jsm.consumers.add(stream, config);
    } catch (error) {
      // It exists with another configuration (an older version of us): keep it, but for its replicas.
      const info = await jsm.consumers.info(stream, this.options.durableName).catch(() => {
        throw error;
      });
      if ((info.config.num_replicas || 1) === replicas || (replicas > 1 && !this.nc.info?.cluster)) return;
      await jsm.consumers.update(stream, this.options.durableName, { num_replicas: replicas }).then(
        () => this.logger.log({ msg: 'consumer scaled', from: info.config.num_replicas, to: replicas }),
        (refused: Error) =>
          this.logger.warn({
            msg: 'consumer kept its replica count: the server refused to change it',
            replicas: info.config.num_replicas,
            wanted: replicas,
            error: refused.message,
          }),
      );
    }
  }

  async start(): Promise<void> {
    if (this.running) return;
    await this.ensure();
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.messages?.stop();
    await this.loop;
    this.loop = null;
  }

  private async run(): Promise<void> {
    const backoff = new Backoff({ initialMs: 200, maxMs: 5000 });
    while (this.running) {
      try {
        const consumer = await jetstream(this.nc).consumers.get(
          eventsStreamName(this.options),
          this.options.durableName,
        );
        this.messages = await consumer.consume({ max_messages: 256 });
        if (!this.running) this.messages.stop();
        for await (const m of this.messages) {
          await this.handle(m);
          backoff.reset();
        }
        // The server ended the pull (consumer deleted, stream gone): pause before getting it again.
        if (this.running) throw new Error('consumer stopped delivering');
      } catch (error) {
        if (!this.running) break;
        this.logger.warn({ msg: 'consuming failed, will retry', error: (error as Error).message });
        await backoff.wait();
        await this.ensure().catch(() => undefined);
      }
    }
  }

  private async handle(m: JsMsg): Promise<void> {
    let event: RelayedEvent;
    try {
      event = parseRelayedEvent(m.string(), m.seq, this.options.registry);
    } catch (error) {
      this.logger.error({
        msg: 'malformed event message terminated',
        sequence: m.seq,
        subject: m.subject,
        error: (error as Error).message,
      });
      m.term();
      return;
    }
    try {
      await this.options.onEvent(event);
      m.ack();
    } catch (error) {
      this.logger.warn({
        msg: 'event handling failed, redelivering later',
        eventId: event.eventId,
        sequence: m.seq,
        error: (error as Error).message,
      });
      m.nak(this.options.redeliverDelayMs ?? 1000);
    }
  }
}
