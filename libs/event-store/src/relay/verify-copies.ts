import { jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { EventRow, EventStore } from '../event-store';
import { EVENT_COLUMNS } from '../event-store';
import { canonicalJson } from '../hash';
import type { EventLike } from '../types';
import { storeDatabase } from '../store-database';
import { type EventsStreamOptions, eventsStreamName } from './jetstream-relay';
import { anchorSignatureProblem, anchorsStreamName, foldLogDigest, LOG_DIGEST_START, type LogAnchor } from './log-anchors';

/** An event of the log that its JetStream copy contradicts, or one JetStream holds and the log lacks. */
export interface CopyDifference {
  position: number;
  streamId: string;
  version: number;
  eventId: string;
  problem: string;
}

/** An anchor the log does not match, or one that fails its signature. */
export interface AnchorProblem {
  /** The anchor's sequence in the anchors stream. */
  sequence: number;
  /** Where it says the log stood: its last event's position, and the events up to there. */
  position: number;
  events: number;
  problem: string;
}

export interface CopiesResult {
  /** Events of the log read, in log order. */
  events: number;
  /** Of those, compared with their JetStream copy. */
  relayed: number;
  /** At the log's end, not in JetStream yet (the relay's lag), or past a difference. */
  notCompared: number;
  /** The first event that differs from JetStream; nothing after it is compared. */
  difference: CopyDifference | null;
  anchors: number;
  /** Whether signatures were checked (a signing key was given). */
  signaturesChecked: boolean;
  anchorProblems: AnchorProblem[];
}

export interface CopiesProgress {
  events: number;
  total: number;
}

export interface VerifyCopiesOptions extends EventsStreamOptions {
  /** ANCHOR_SIGNING_KEY: every anchor must carry its signature. Unset: signatures are not checked. */
  signingKey?: string;
  batchSize?: number;
  onProgress?: (progress: CopiesProgress) => void;
}

/** Signature problems listed, at most; every one is counted in the message of the last. */
const MAX_SIGNATURE_PROBLEMS = 100;

/** A relayed event as the relay wrote it (`relayedEvent`). */
interface RelayedEvent {
  eventId: string;
  streamId: string;
  version: number;
  position: number;
  transactionId: string;
  type: string;
  schemaVersion: number;
  data: unknown;
  metadata: unknown;
  occurredAt: string;
  prevHash: string | null;
  hash: string;
}

/**
 * Checks the log against what left the database: every event against its
 * JetStream copy (CYBORG_EVENTS, in the order the relay published it, which
 * is log order) and the log's digest against every anchor. One pass in log
 * order, one page of the log and one of each stream in memory.
 */
export async function verifyAgainstCopies<E extends EventLike>(
  store: EventStore<E>,
  nc: NatsConnection,
  options: VerifyCopiesOptions = {},
): Promise<CopiesResult> {
  const batchSize = options.batchSize ?? 5000;
  const result: CopiesResult = {
    events: 0,
    relayed: 0,
    notCompared: 0,
    difference: null,
    anchors: 0,
    signaturesChecked: Boolean(options.signingKey),
    anchorProblems: [],
  };
  const ds = storeDatabase(store);
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const eventsStream = eventsStreamName(options);
  const anchorsStream = anchorsStreamName(options);
  const copies = storedMessages(js, await lastSequence(jsm, eventsStream), eventsStream);
  const anchors = storedMessages(js, await lastSequence(jsm, anchorsStream), anchorsStream);
  const [{ count }] = await ds.query(`SELECT count(*)::bigint AS count FROM events`);
  const total = Number(count);
  let digest = LOG_DIGEST_START;
  let signatureProblems = 0;
  let digestProblem = false;
  let comparing = true;

  const nextAnchor = async (): Promise<{ sequence: number; anchor: LogAnchor } | null> => {
    for (;;) {
      const next = await anchors.next();
      if (next.done) return null;
      result.anchors++;
      const sequence = next.value.seq;
      const anchor = parseJson<LogAnchor>(next.value);
      if (!anchor || typeof anchor.events !== 'number' || typeof anchor.digest !== 'string' || !anchor.at) {
        result.anchorProblems.push({ sequence, position: 0, events: 0, problem: 'not an anchor' });
        continue;
      }
      const unsigned = options.signingKey ? anchorSignatureProblem(anchor, options.signingKey) : null;
      if (unsigned) {
        // A forged anchor is no evidence either way: reported, never compared.
        if (++signatureProblems <= MAX_SIGNATURE_PROBLEMS) {
          result.anchorProblems.push({
            sequence,
            position: anchor.at.position,
            events: anchor.events,
            problem: unsigned,
          });
        }
        continue;
      }
      return { sequence, anchor };
    }
  };

  try {
    let anchor = await nextAnchor();
    let cursor = { transactionId: '0', position: 0 };
    for (;;) {
      // Log order, below the oldest running transaction: the order the relay and the anchors saw.
      const rows: EventRow[] = await ds.query(
        `SELECT ${EVENT_COLUMNS} FROM events
         WHERE (transaction_id, position) > ($1::xid8, $2::bigint)
           AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
         ORDER BY transaction_id, position LIMIT $3`,
        [cursor.transactionId, cursor.position, batchSize],
      );
      for (const row of rows) {
        result.events++;
        digest = foldLogDigest(digest, row.hash);
        if (comparing) {
          const copy = await copies.next();
          if (copy.done) {
            comparing = false;
            result.notCompared++;
          } else {
            result.difference = await compareWithCopy(store, row, copy.value);
            if (result.difference) {
              comparing = false;
              result.notCompared++;
            } else {
              result.relayed++;
            }
          }
        } else {
          result.notCompared++;
        }
        while (anchor && anchor.anchor.events <= result.events) {
          const problem =
            anchor.anchor.events < result.events
              ? 'anchors fewer events than an anchor before it'
              : anchor.anchor.eventId !== row.event_id || anchor.anchor.at.position !== Number(row.position)
                ? `anchors event ${anchor.anchor.eventId} (${anchor.anchor.streamId} v${anchor.anchor.version}) here; ` +
                  `the log holds ${row.event_id} (${row.stream_id} v${row.version})`
                : anchor.anchor.digest !== digest
                  ? 'the log up to here does not match the anchored digest: an event up to here was changed, added or removed'
                  : null;
          if (problem && !digestProblem) {
            // After the first mismatch every later anchor differs too: only the first says something.
            digestProblem = true;
            result.anchorProblems.push({
              sequence: anchor.sequence,
              position: anchor.anchor.at.position,
              events: anchor.anchor.events,
              problem,
            });
          }
          anchor = await nextAnchor();
        }
      }
      options.onProgress?.({ events: result.events, total: Math.max(total, result.events) });
      if (rows.length < batchSize) break;
      const last = rows[rows.length - 1];
      cursor = { transactionId: last.transaction_id, position: Number(last.position) };
    }
    if (comparing) {
      // JetStream holds more than the log: an event removed from the log, unless it committed during this check.
      const copy = await copies.next();
      if (!copy.done) {
        const event = parseJson<RelayedEvent>(copy.value);
        if (!event || !(await eventInLog(store, event.eventId))) result.difference = missingFromLog(copy.value, event);
      }
    }
    for (; anchor; anchor = await nextAnchor()) {
      if (digestProblem) continue;
      digestProblem = true;
      result.anchorProblems.push({
        sequence: anchor.sequence,
        position: anchor.anchor.at.position,
        events: anchor.anchor.events,
        problem: `anchors ${anchor.anchor.events} events up to ${anchor.anchor.streamId} v${anchor.anchor.version}; the log holds ${result.events}`,
      });
    }
  } finally {
    await copies.return(undefined);
    await anchors.return(undefined);
  }
  if (signatureProblems > MAX_SIGNATURE_PROBLEMS) {
    result.anchorProblems[result.anchorProblems.length - 1].problem +=
      ` (${signatureProblems} anchors fail their signature)`;
  }
  return result;
}

async function lastSequence(jsm: Awaited<ReturnType<typeof jetstreamManager>>, stream: string): Promise<number> {
  const info = await jsm.streams.info(stream).catch(() => null);
  return info?.state.messages ? info.state.last_seq : 0;
}

/** A stream's messages in order, up to `until` (its last sequence when the check began). */
async function* storedMessages(
  js: ReturnType<typeof jetstream>,
  until: number,
  stream: string,
): AsyncGenerator<JsMsg, void, undefined> {
  if (until === 0) return;
  const consumer = await js.consumers.get(stream);
  const messages = await consumer.consume({ max_messages: 512 });
  try {
    for await (const m of messages) {
      if (m.seq > until) return;
      yield m;
      // Nothing left (pending 0) ends it too: the last message may have been deleted since.
      if (m.seq === until || m.info.pending === 0) return;
    }
  } finally {
    await messages.close();
  }
}

function parseJson<T>(m: JsMsg): T | null {
  try {
    return m.json<T>();
  } catch {
    return null;
  }
}

async function eventInLog<E extends EventLike>(store: EventStore<E>, eventId: string): Promise<boolean> {
  if (!/^[0-9a-f-]{36}$/i.test(eventId)) return false;
  const rows = await storeDatabase(store).query(`SELECT 1 FROM events WHERE event_id = $1`, [eventId]);
  return rows.length > 0;
}

function missingFromLog(m: JsMsg, event: RelayedEvent | null): CopyDifference {
  if (!event)
    return {
      position: 0,
      streamId: '',
      version: 0,
      eventId: '',
      problem: `JetStream message ${m.seq} is not an event`,
    };
  return {
    position: event.position,
    streamId: event.streamId,
    version: event.version,
    eventId: event.eventId,
    problem: `in JetStream (${event.type}), missing from the log`,
  };
}

/** Null when the row equals its copy; else where it differs. */
async function compareWithCopy<E extends EventLike>(
  store: EventStore<E>,
  row: EventRow,
  m: JsMsg,
): Promise<CopyDifference | null> {
  const at = {
    position: Number(row.position),
    streamId: row.stream_id,
    version: Number(row.version),
    eventId: row.event_id,
  };
  const copy = parseJson<RelayedEvent>(m);
  if (!copy) return { ...at, problem: `its JetStream copy (message ${m.seq}) is not an event` };
  if (copy.eventId !== row.event_id) {
    if (!(await eventInLog(store, copy.eventId))) return missingFromLog(m, copy);
    return {
      ...at,
      problem: `JetStream holds ${copy.eventId} (${copy.streamId} v${copy.version}) here: this event was not relayed at this point of the log`,
    };
  }
  // The relay published events upcast to the schema of its day; compare like with like.
  const data =
    copy.schemaVersion === row.schema_version
      ? row.data
      : (() => {
          const upcast = store.toRecorded(row);
          return upcast.schemaVersion === copy.schemaVersion ? upcast.data : copy.data;
        })();
  const fields: [string, boolean][] = [
    ['stream', copy.streamId === row.stream_id],
    ['version', copy.version === Number(row.version)],
    ['position', copy.position === Number(row.position)],
    ['type', copy.type === row.type],
    ['data', canonicalJson(copy.data) === canonicalJson(data)],
    ['metadata', canonicalJson(copy.metadata) === canonicalJson(row.metadata)],
    ['occurred at', copy.occurredAt === row.occurred_at.toISOString()],
    ['previous hash', copy.prevHash === row.prev_hash],
    ['hash', copy.hash === row.hash],
  ];
  const differ = fields.filter(([, same]) => !same).map(([name]) => name);
  return differ.length === 0 ? null : { ...at, problem: `differs from its JetStream copy: ${differ.join(', ')}` };
}
