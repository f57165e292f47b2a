/** Who caused an event, and through which request and command. Recorded on every event. */
export interface EventMetadata {
  userId?: string | null;
  projectId?: string | null;
  roles?: string[];
  /** True when the caller presented a service token (Nova, another service). */
  service?: boolean;
  requestId?: string | null;
  commandId?: string | null;
  /** Free-form reason, e.g. why the conductor failed a bind. */
  reason?: string;
}

export type EventData = Record<string, unknown>;

/**
 * An event as the store sees it: an explicit type name (never a class name)
 * and JSON data. A store is typed by the union of its events (`E`); readers
 * get that union, upcast to each type's current schema version.
 */
export type EventLike = { type: string; data: EventData };

/** An event to append. */
export type NewEvent<E extends EventLike = EventLike> = E & {
  /** Defaults to the current schema version registered for the type, else 1. */
  schemaVersion?: number;
  /** Defaults to a random UUID. */
  eventId?: string;
};

/** A stream's version is the number of events in it: 0 is an empty (new) stream. */
export type ExpectedVersion = number | 'any';
export const NO_STREAM = 0;

export interface AppendRequest<E extends EventLike = EventLike> {
  streamId: string;
  expectedVersion: ExpectedVersion;
  events: NewEvent<E>[];
}

/** Where an event sits in the log and who caused it: what the store adds to an event. */
export interface RecordedEventFields {
  eventId: string;
  streamId: string;
  category: string;
  version: number;
  position: number;
  transactionId: string;
  schemaVersion: number;
  metadata: EventMetadata;
  occurredAt: Date;
  prevHash: string | null;
  hash: string;
}

/** An event read from the log; over a union of events, a union narrowed by `type`. */
export type RecordedEvent<E extends EventLike = EventLike> = E & RecordedEventFields;

/**
 * A reader's place in the global log: the pair (transaction id, position).
 * Events are read in (transaction id, position) order and only below the
 * oldest running transaction, so nothing can commit behind a checkpoint.
 */
export interface Checkpoint {
  transactionId: string;
  position: number;
}

export const LOG_START: Checkpoint = Object.freeze({ transactionId: '0', position: 0 });

export interface AppendResult<E extends EventLike = EventLike> {
  /** Version of each stream after the append, by stream id. */
  versions: Record<string, number>;
  /** Where the last appended event sits in the log; null when nothing was appended. */
  checkpoint: Checkpoint | null;
  events: RecordedEvent<E>[];
}

export function compareCheckpoints(a: Checkpoint, b: Checkpoint): number {
  const ta = BigInt(a.transactionId);
  const tb = BigInt(b.transactionId);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.position === b.position ? 0 : a.position < b.position ? -1 : 1;
}

/** `arq-1234` → `arq`. The category groups streams of one kind. */
export function streamCategory(streamId: string): string {
  const dash = streamId.indexOf('-');
  return dash > 0 ? streamId.slice(0, dash) : streamId;
}
