import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { EventStore } from '../event-store';
import { canonicalJson } from '../hash';
import { type Checkpoint, type EventLike, LOG_START } from '../types';
import { type EventsStreamOptions, eventsStreamName, eventsSubjectPrefix } from './jetstream-relay';

/** Anchors live beside the events they vouch for, in a stream of their own: `<EVENTS_STREAM_NAME>_ANCHORS`. */
export const anchorsStreamName = (options: EventsStreamOptions = {}) => `${eventsStreamName(options)}_ANCHORS`;
/**
 * `<EVENTS_SUBJECT_PREFIX>-anchors`, beside the events' `<prefix>.>` and not
 * under it: JetStream refuses two streams with overlapping subjects.
 */
export const anchorsSubject = (options: EventsStreamOptions = {}) => `${eventsSubjectPrefix(options)}-anchors`;
/** The defaults: `CYBORG_EVENTS_ANCHORS` on `cyborg.events-anchors`. */
export const ANCHORS_STREAM = anchorsStreamName();
export const ANCHORS_SUBJECT = anchorsSubject();

/** The digest of an empty log. */
export const LOG_DIGEST_START = '0'.repeat(64);

/**
 * What the log looked like up to one event, written where its database
 * cannot reach: how many events it held, a digest over all their hashes in
 * log order, and the last event with its stream's chain head.
 */
export interface LogAnchor {
  /** The last event covered, in log order (transaction id, position). */
  at: Checkpoint;
  eventId: string;
  streamId: string;
  version: number;
  /** That event's hash: the head of its stream's chain. */
  hash: string;
  /** Events in the log up to and including `at`. */
  events: number;
  /** sha256 folded over every event's hash in log order, up to `at`. */
  digest: string;
  anchoredAt: string;
  /** HMAC-SHA256 (hex) of the anchor without this field, under ANCHOR_SIGNING_KEY. */
  signature?: string;
}

/** The next digest of the log after one more event. */
export function foldLogDigest(digest: string, eventHash: string): string {
  return createHash('sha256').update(digest).update(eventHash).digest('hex');
}

function anchorMac(anchor: LogAnchor, key: string): Buffer {
  const { signature: _unsigned, ...body } = anchor;
  return createHmac('sha256', key).update(canonicalJson(body)).digest();
}

export function signAnchor(anchor: LogAnchor, key: string): LogAnchor {
  return { ...anchor, signature: anchorMac(anchor, key).toString('hex') };
}

/** Null when the anchor is signed with `key`; else what is wrong. */
export function anchorSignatureProblem(anchor: LogAnchor, key: string): string | null {
  if (typeof anchor.signature !== 'string') return 'anchor is not signed';
  const given = Buffer.from(anchor.signature, 'hex');
  const expected = anchorMac(anchor, key);
  return given.length === expected.length && timingSafeEqual(given, expected)
    ? null
    : 'signature does not match ANCHOR_SIGNING_KEY';
}

/** Creates the anchors stream if it is missing (idempotent; safe from several processes), with the events stream's replicas. */
export async function ensureAnchorsStream(jsm: JetStreamManager, options: EventsStreamOptions = {}): Promise<void> {
  const name = anchorsStreamName(options);
  if (await jsm.streams.info(name).catch(() => null)) return;
  try {
    await jsm.streams.add({ name, subjects: [anchorsSubject(options)], num_replicas: options.replicas ?? 1 });
  } catch (error) {
    // Another process created it between our two calls.
    await jsm.streams.info(name).catch(() => {
      throw error;
    });
  }
}

export interface AnchorerOptions extends EventsStreamOptions {
  /** How often the log is anchored (only when it moved since the last anchor). */
  intervalMs: number;
  /** Signs every anchor; empty or unset: anchors are unsigned. */
  signingKey?: string;
  /** Events read per query while catching up. */
  batchSize?: number;
  publishTimeoutMs?: number;
  onError?: (error: unknown) => void;
}

interface AnchorerState {
  last: LogAnchor | null;
  /** The anchors stream's sequence of `last`: the next publish expects it, so two anchorers never fork the chain. */
  sequence: number;
}

/**
 * Periodically publishes an anchor of the committed log to JetStream. Its
 * digest continues from the last anchor read back from JetStream, never from
 * the database's past, so history rewritten in the database after it was
 * anchored can never be anchored again.
 */
export class LogAnchorer<E extends EventLike = EventLike> {
  private readonly js: JetStreamClient;
  private jsm: JetStreamManager | null = null;
  private state: AnchorerState | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly store: EventStore<E>,
    private readonly options: AnchorerOptions,
  ) {
    this.js = jetstream(nc, { timeout: options.publishTimeoutMs ?? 5000 });
  }

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.anchor()
        .catch((error) => this.options.onError?.(error))
        .finally(() => this.schedule());
    }, this.options.intervalMs);
  }

  /** Anchors the log as it is now; null when nothing was appended since the last anchor. */
  async anchor(): Promise<LogAnchor | null> {
    try {
      return await this.anchorOnce();
    } catch (error) {
      // Someone anchored since we read the stream (another conductor): continue from theirs.
      if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamWrongLastSequence))
        throw error;
      return this.anchorOnce();
    }
  }

  private async anchorOnce(): Promise<LogAnchor | null> {
    this.jsm ??= await jetstreamManager(this.nc);
    await ensureAnchorsStream(this.jsm, this.options);
    const state = (this.state ??= await this.readLast(this.jsm));
    let at = state.last?.at ?? LOG_START;
    let events = state.last?.events ?? 0;
    let digest = state.last?.digest ?? LOG_DIGEST_START;
    let head: { eventId: string; streamId: string; version: number; hash: string } | null = null;
    const limit = this.options.batchSize ?? 1000;
    for (;;) {
      const page = await this.store.readAll({ after: at, limit });
      for (const e of page.events) {
        digest = foldLogDigest(digest, e.hash);
        events++;
        head = e;
        at = { transactionId: e.transactionId, position: e.position };
      }
      if (page.events.length < limit) break;
    }
    if (!head) return null;
    let anchor: LogAnchor = {
      at,
      eventId: head.eventId,
      streamId: head.streamId,
      version: head.version,
      hash: head.hash,
      events,
      digest,
      anchoredAt: new Date().toISOString(),
    };
    if (this.options.signingKey) anchor = signAnchor(anchor, this.options.signingKey);
    try {
      const ack = await this.js.publish(anchorsSubject(this.options), JSON.stringify(anchor), {
        // The signature in the id: no one without the key can take an anchor's id before it is published.
        msgID: `anchor-${events}-${anchor.signature ?? anchor.digest}`,
        expect: { lastSequence: state.sequence },
      });
      if (ack.duplicate) {
        this.state = null;
        return null;
      }
      this.state = { last: anchor, sequence: ack.seq };
      return anchor;
    } catch (error) {
      // Another anchor was published first, or NATS is away: start again from what JetStream holds.
      this.state = null;
      throw error;
    }
  }

  /**
   * The newest anchor to continue from; with a signing key, the newest one it
   * signed (an anchor forged into the stream is passed over, not built on).
   */
  private async readLast(jsm: JetStreamManager): Promise<AnchorerState> {
    const stream = anchorsStreamName(this.options);
    const info = await jsm.streams.info(stream);
    const sequence = info.state.last_seq;
    for (let seq = sequence; seq >= Math.max(1, info.state.first_seq); seq--) {
      const stored = await jsm.streams.getMessage(stream, { seq });
      if (!stored) continue;
      const anchor = stored.json<LogAnchor>();
      const key = this.options.signingKey;
      if (!key || anchorSignatureProblem(anchor, key) === null) return { last: anchor, sequence };
    }
    return { last: null, sequence };
  }
}
