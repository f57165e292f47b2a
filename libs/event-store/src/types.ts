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

/** An event to append: type names are explicit strings, never class names. */
export interface NewEvent<D extends EventData = EventData> {
  type: string;
  data: D;
  /** Defaults to the current schema version registered for the type, else 1. */
  schemaVersion?: number;
  /** Defaults to a random UUID. */
  eventId?: string;
}

/** A stream's version is the number of events in it: 0 is an empty (new) stream. */
export type ExpectedVersion = number | 'any';
export const NO_STREAM = 0;

export interface AppendRequest {
  streamId: string;
  expectedVersion: ExpectedVersion;
  events: NewEvent[];
}

export interface RecordedEvent<D extends EventData = EventData> {
  eventId: string;
  streamId: string;
  category: string;
  version: number;
  position: number;
  transactionId: string;
  type: string;
  schemaVersion: number;
  data: D;
  metadata: EventMetadata;
  occurredAt: Date;
  prevHash: string | null;
  hash: string;
}

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

export interface AppendResult {
  /** Version of each stream after the append, by stream id. */
  versions: Record<string, number>;
  /** Where the last appended event sits in the log; null when nothing was appended. */
  checkpoint: Checkpoint | null;
  events: RecordedEvent[];
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
