import { Logger } from '@nestjs/common';
import { type JetStreamClient, jetstream, jetstreamManager, type StreamInfo } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Settings } from '@cyborg/config';
import type { LogProcessor } from '../processor/log-processor';
import type { RecordedEvent } from '../types';

/** The defaults of EVENTS_STREAM_NAME and EVENTS_SUBJECT_PREFIX. */
export const EVENTS_STREAM = 'CYBORG_EVENTS';
export const EVENTS_SUBJECT_PREFIX = 'cyborg.events';

/** `<prefix>.<category>.<type>`; characters NATS reserves are replaced. */
export function eventSubject(
  event: Pick<RecordedEvent, 'category' | 'type'>,
  prefix: string = EVENTS_SUBJECT_PREFIX,
): string {
  return `${prefix}.${token(event.category)}.${token(event.type)}`;
}

const token = (s: string) => s.replace(/[.*>\s]/g, '_');

/** The message body of a relayed event: the recorded event, positions as numbers. */
export function relayedEvent(event: RecordedEvent) {
  return { ...event, occurredAt: event.occurredAt.toISOString() };
}

/**
 * Which JetStream stream holds a deployment's events, under which subjects,
 * on how many servers. Two deployments on one NATS name different ones.
 */
export interface EventsStreamOptions {
  /** Default `CYBORG_EVENTS`. */
  streamName?: string;
  /** Default `cyborg.events`: events are published on `<prefix>.<category>.<type>`. */
  subjectPrefix?: string;
  /** Replicas of the stream and of every durable consumer on it; default 1 (a single server). */
  replicas?: number;
}

export interface RelayOptions extends EventsStreamOptions {
  /** JetStream's de-duplication window; longer than any relay outage we expect to replay. */
  duplicateWindowMs?: number;
  publishTimeoutMs?: number;
}

/** The events stream of these settings (EVENTS_STREAM_NAME, EVENTS_SUBJECT_PREFIX, JETSTREAM_REPLICAS, ...). */
export function eventsStreamFrom(settings: Settings): RelayOptions {
  return {
    streamName: settings.EVENTS_STREAM_NAME,
    subjectPrefix: settings.EVENTS_SUBJECT_PREFIX,
    replicas: settings.JETSTREAM_REPLICAS,
    duplicateWindowMs: settings.EVENTS_DUPLICATE_WINDOW_MS,
  };
}

export const eventsStreamName = (options: EventsStreamOptions = {}) => options.streamName ?? EVENTS_STREAM;
export const eventsSubjectPrefix = (options: EventsStreamOptions = {}) =>
  options.subjectPrefix ?? EVENTS_SUBJECT_PREFIX;

const logger = new Logger('jetstream');

/**
 * Creates the events stream if it is missing (idempotent; safe from several
 * processes). An existing stream with another replica count is scaled to
 * ours (JetStream copies the data; it needs a cluster of that many
 * servers): on a lone server, or if the cluster refuses, the stream is used
 * as it is and that is logged. Creating one with more replicas than a lone
 * server can hold fails, naming why.
 * An existing stream of that name without our subjects is another
 * deployment's: refused, never written to.
 */
export async function ensureEventsStream(nc: NatsConnection, options: RelayOptions = {}): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const name = eventsStreamName(options);
  const subjects = `${eventsSubjectPrefix(options)}.>`;
  const replicas = options.replicas ?? 1;
  const config = {
    name,
    subjects: [subjects],
    duplicate_window: (options.duplicateWindowMs ?? 10 * 60_000) * 1_000_000,
    num_replicas: replicas,
  };
  let info: StreamInfo;
  try {
    info = await jsm.streams.info(name);
  } catch {
    try {
      await jsm.streams.add(config);
      return;
    } catch (error) {
      // Another process created it between our two calls.
      info = await jsm.streams.info(name).catch(() => {
        throw error;
      });
    }
  }
  if (!info.config.subjects?.includes(subjects)) {
    throw new Error(
      `JetStream stream ${name} holds ${JSON.stringify(info.config.subjects ?? [])}, not ${subjects}: ` +
        `it belongs to another deployment; set EVENTS_STREAM_NAME and EVENTS_SUBJECT_PREFIX to a pair of this one's`,
    );
  }
  if ((info.config.num_replicas || 1) !== replicas) {
    if (replicas > 1 && !nc.info?.cluster) {
      // A lone server would take the new count and still keep one copy.
      logger.warn({
        msg: 'events stream kept its replica count: the NATS server is not part of a cluster',
        stream: name,
        replicas: info.config.num_replicas,
        wanted: replicas,
      });
      return;
    }
    try {
      await jsm.streams.update(name, { ...info.config, num_replicas: replicas });
      logger.log({ msg: 'events stream scaled', stream: name, from: info.config.num_replicas, to: replicas });
    } catch (error) {
      logger.warn({
        msg: 'events stream kept its replica count: the server refused to change it',
        stream: name,
        replicas: info.config.num_replicas,
        wanted: replicas,
        error: (error as Error).message,
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
  private readonly prefix: string;

  constructor(
    private readonly nc: NatsConnection,
    private readonly options: RelayOptions = {},
  ) {
    this.js = jetstream(nc, { timeout: options.publishTimeoutMs ?? 5000 });
    this.prefix = eventsSubjectPrefix(options);
  }

  async handle(events: RecordedEvent[]): Promise<void> {
    if (!this.streamReady) {
      await ensureEventsStream(this.nc, this.options);
      this.streamReady = true;
    }
    // Published back to back on one connection, so JetStream stores them in
    // this order; all acks are awaited before the checkpoint moves.
    const acks = events.map((event) =>
      this.js.publish(eventSubject(event, this.prefix), JSON.stringify(relayedEvent(event)), { msgID: event.eventId }),
    );
    const results = await Promise.allSettled(acks);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) {
      this.streamReady = false;
      throw (failed as PromiseRejectedResult).reason;
    }
  }
}
