import { type JetStreamClient, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { LogProcessor } from '../processor/log-processor';
import type { RecordedEvent } from '../types';

export const EVENTS_STREAM = 'CYBORG_EVENTS';
export const EVENTS_SUBJECT_PREFIX = 'cyborg.events';

/** `cyborg.events.<category>.<type>`; characters NATS reserves are replaced. */
export function eventSubject(event: Pick<RecordedEvent, 'category' | 'type'>): string {
  return `${EVENTS_SUBJECT_PREFIX}.${token(event.category)}.${token(event.type)}`;
}

const token = (s: string) => s.replace(/[.*>\s]/g, '_');

/** The message body of a relayed event: the recorded event, positions as numbers. */
export function relayedEvent(event: RecordedEvent) {
  return { ...event, occurredAt: event.occurredAt.toISOString() };
}

export interface RelayOptions {
  /** JetStream's de-duplication window; longer than any relay outage we expect to replay. */
  duplicateWindowMs?: number;
  publishTimeoutMs?: number;
}

/** Creates the events stream if it is missing (idempotent; safe from several processes). */
export async function ensureEventsStream(nc: NatsConnection, options: RelayOptions = {}): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const config = {
    name: EVENTS_STREAM,
    subjects: [`${EVENTS_SUBJECT_PREFIX}.>`],
    duplicate_window: (options.duplicateWindowMs ?? 10 * 60_000) * 1_000_000,
  };
  try {
    await jsm.streams.info(EVENTS_STREAM);
  } catch {
    try {
      await jsm.streams.add(config);
    } catch (error) {
      // Another process created it between our two calls.
      await jsm.streams.info(EVENTS_STREAM).catch(() => {
        throw error;
      });
    }
  }
}

/**
 * The log is the outbox: this processor publishes committed events in log
 * order to JetStream with Nats-Msg-Id = event id, so a batch republished
 * after a crash or a NATS outage is stored once.
 */
export class JetStreamRelay implements LogProcessor {
  readonly name = 'relay:jetstream';
  readonly delivery = 'external' as const;
  readonly batchSize = 256;
  private readonly js: JetStreamClient;
  private streamReady = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly options: RelayOptions = {},
  ) {
    this.js = jetstream(nc, { timeout: options.publishTimeoutMs ?? 5000 });
  }

  async handle(events: RecordedEvent[]): Promise<void> {
    if (!this.streamReady) {
      await ensureEventsStream(this.nc, this.options);
      this.streamReady = true;
    }
    // Published back to back on one connection, so JetStream stores them in
    // this order; all acks are awaited before the checkpoint moves.
    const acks = events.map((event) =>
      this.js.publish(eventSubject(event), JSON.stringify(relayedEvent(event)), { msgID: event.eventId }),
    );
    const results = await Promise.allSettled(acks);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) {
      this.streamReady = false;
      throw (failed as PromiseRejectedResult).reason;
    }
  }
}
