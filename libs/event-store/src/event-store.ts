import { createHash, randomUUID } from 'node:crypto';
import { processMetrics } from '@cyborg/metrics';
import type { DataSource, EntityManager } from 'typeorm';
import { CommandAlreadyHandledError, InvalidAppendError, WrongExpectedVersionError } from './errors';
import { eventHash } from './hash';
import { registerStoreDatabase } from './store-database';
import {
  type AppendRequest,
  type AppendResult,
  type Checkpoint,
  type EventData,
  type EventLike,
  type EventMetadata,
  type ExpectedVersion,
  type RecordedEvent,
  compareCheckpoints,
  LOG_START,
  streamCategory,
} from './types';
import { EventTypeRegistry } from './upcasters';

export interface EventRow {
  position: string;
  transaction_id: string;
  event_id: string;
  stream_id: string;
  category: string;
  version: string;
  type: string;
  schema_version: number;
  data: EventData;
  metadata: EventMetadata;
  occurred_at: Date;
  prev_hash: string | null;
  hash: string;
}

export const EVENT_COLUMNS = `position, transaction_id, event_id, stream_id, category, version, type,
  schema_version, data, metadata, occurred_at, prev_hash, hash`;

export interface ReadAllOptions {
  after?: Checkpoint;
  limit?: number;
  /** Only these event types; the checkpoint still advances past the others. */
  types?: readonly string[];
}

export interface ReadAllResult<E extends EventLike = EventLike> {
  events: RecordedEvent<E>[];
  /** Where the next read starts; past the last event scanned, filtered or not. */
  checkpoint: Checkpoint;
}

/**
 * What a committed append tells the log readers it wakes: the event types
 * (null: unknown, any type) and the newest checkpoint it wrote (null: unknown).
 */
export interface AppendSignal {
  types: readonly string[] | null;
  checkpoint: Checkpoint | null;
}

export type AppendListener = (signal: AppendSignal) => void;

export interface EventStoreOptions {
  /**
   * Share wake-ups with the other stores of this process on the same database
   * (services run together, as `npm start` runs them): their readers are woken
   * at once, not by NOTIFY. Default true.
   */
  processWakeUps?: boolean;
}

/** NOTIFY channel of committed appends; the payload is `<sender>:<transaction id>:<types>`. */
export const APPEND_CHANNEL = 'cyborg_events';
/** Longest NOTIFY payload PostgreSQL takes is 8000 bytes; past this the types are sent as "any". */
const MAX_NOTIFY_TYPES_LENGTH = 7000;

/** Readers of each database in this process, by database, so that stores of one process wake each other. */
const processListeners = new Map<string, Set<AppendListener>>();
/** Tells NOTIFYs of this process's stores from others'. */
const PROCESS_TAG = randomUUID().slice(0, 8);

/** A NOTIFY payload of appendSignalPayload, or null when it is none of ours. */
export function parseAppendSignal(payload: string | undefined): (AppendSignal & { sender: string }) | null {
  if (!payload) return { sender: '', types: null, checkpoint: null };
  const [sender, transactionId, types] = payload.split(':');
  if (types === undefined) return null;
  return {
    sender,
    types: types === '*' ? null : types.split(','),
    checkpoint: /^[1-9]\d*$/.test(transactionId) ? { transactionId, position: Number.MAX_SAFE_INTEGER } : null,
  };
}

/** A row of readAll: the newest event below the horizon (of any type), beside an event of the wanted types or nulls. */
interface ReadRow extends Omit<EventRow, 'position'> {
  position: string | null;
  last_transaction_id: string;
  last_position: string;
}

const MAX_EVENTS_PER_APPEND = 10_000;
/** Chain heads kept per store: one per stream recently written or read. */
const MAX_CACHED_HEADS = 50_000;
const MAX_STALE_ATTEMPTS = 5;
/** Shortest time between two NOTIFYs of one store; a burst of appends sends one per gap. */
const NOTIFY_GAP_MS = 5;
/** SQLSTATE raised by append_to_streams for a stream at another version than expected. */
const WRONG_EXPECTED_VERSION = 'CY409';
/** SQLSTATE raised by append_command for a command id already recorded. */
const COMMAND_HANDLED = 'CY410';

/** append_to_streams' parameters, typed. */
const APPEND_ARGS = `$1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[], $6::integer[], $7::text[],
  $8::uuid[], $9::text[], $10::text[], $11::bigint[], $12::text[], $13::integer[], $14::jsonb[], $15::text[],
  $16::text[], $17::jsonb, $18::timestamptz`;

const nothingAppended = <E extends EventLike>(): AppendResult<E> => ({ versions: {}, checkpoint: null, events: [] });

interface PlannedStream {
  streamId: string;
  category: string;
  expectedVersion: ExpectedVersion;
  metadata: EventMetadata;
  occurredAt: Date;
  events: { eventId: string; type: string; schemaVersion: number; data: EventData }[];
}

/** A command's record, written with its events: a replay of its id is answered from it. */
export interface CommandRecord {
  commandId: string;
  type: string;
  /** sha256 of the command's type and payload: the same id with another payload is refused. */
  payloadHash: string;
  result: unknown;
}

/** A command as recorded: its first result and where its events sit. */
export interface RecordedCommand {
  payloadHash: string;
  result: unknown;
  checkpoint: Checkpoint | null;
}

interface HeadRow {
  stream_id: string;
  version: string;
  last_hash: string | null;
}

/** append_to_streams' answer: one row per event, or (null positions) the streams' current heads. */
interface AppendRow {
  stream_id: string | null;
  version: string | null;
  last_hash: string | null;
  position: string | null;
  transaction_id: string | null;
}

/**
 * The append-only event log in PostgreSQL. Writers append to streams with an
 * expected version; readers follow the whole log in a gap-free order.
 */
export class EventStore<E extends EventLike = EventLike> {
  private readonly appendListeners: Set<AppendListener>;
  /** Who this store's NOTIFYs come from: the process, or the store alone. */
  readonly wakeTag: string;
  /** Each stream's last version and hash as last seen: what the next append hashes from. */
  private readonly heads = new Map<string, { version: number; hash: string | null }>();
  private notifying = false;
  private notifyOwed = false;
  /** What the next NOTIFY tells: the types (null: any) and newest transaction since the last one. */
  private owedTypes: Set<string> | null = new Set();
  private owedTransaction = 0n;
  private notifyTimer: NodeJS.Timeout | null = null;
  private lastNotifyAt = 0;

  constructor(
    private readonly dataSource: DataSource,
    readonly registry: EventTypeRegistry<E> = new EventTypeRegistry<E>(),
    options: EventStoreOptions = {},
  ) {
    registerStoreDatabase(this, dataSource);
    if (options.processWakeUps === false) {
      this.appendListeners = new Set();
      this.wakeTag = randomUUID().slice(0, 8);
    } else {
      const key = databaseKey(dataSource);
      let listeners = processListeners.get(key);
      if (!listeners) processListeners.set(key, (listeners = new Set()));
      this.appendListeners = listeners;
      this.wakeTag = `${PROCESS_TAG}${createHash('sha256').update(key).digest('hex').slice(0, 8)}`;
    }
  }

  /**
   * Called after each committed append of this process to this database (of
   * this store alone without processWakeUps), with what it appended; returns
   * the unsubscribe.
   */
  onAppended(listener: AppendListener): () => void {
    this.appendListeners.add(listener);
    return () => this.appendListeners.delete(listener);
  }

  /**
   * Wakes log readers once an append has committed: those of this process at
   * once, those of other processes by NOTIFY. The NOTIFY is sent outside the
   * append's transaction (inside it, PostgreSQL serialises every commit on a
   * database-wide lock) and coalesced: at most one every NOTIFY_GAP_MS, the
   * last one after the last commit, as each wakes every reader of every
   * process. Readers also poll, so a lost notification only delays them.
   * `signal` says which event types were appended and where, so that readers
   * of other types stay asleep; without it every reader wakes.
   */
  committed(signal: AppendSignal = { types: null, checkpoint: null }): void {
    for (const listener of this.appendListeners) listener(signal);
    if (signal.types === null || this.owedTypes === null) this.owedTypes = null;
    else for (const type of signal.types) this.owedTypes.add(type);
    if (signal.checkpoint) {
      const transaction = BigInt(signal.checkpoint.transactionId);
      if (transaction > this.owedTransaction) this.owedTransaction = transaction;
    }
    this.notifyOthers();
  }

  private notifyOthers(): void {
    this.notifyOwed = true;
    if (this.notifying || this.notifyTimer) return;
    const wait = this.lastNotifyAt + NOTIFY_GAP_MS - Date.now();
    if (wait > 0) {
      this.notifyTimer = setTimeout(() => {
        this.notifyTimer = null;
        this.notifyOthers();
      }, wait);
      this.notifyTimer.unref();
      return;
    }
    this.notifyOwed = false;
    this.notifying = true;
    this.lastNotifyAt = Date.now();
    let types = this.owedTypes === null ? '*' : [...this.owedTypes].join(',');
    if (types.length > MAX_NOTIFY_TYPES_LENGTH || types === '') types = '*';
    const payload = `${this.wakeTag}:${this.owedTransaction}:${types}`;
    this.owedTypes = new Set();
    this.owedTransaction = 0n;
    // A wake-up only: its own transaction need not wait for the WAL flush (the append's did).
    void this.dataSource
      .query(`SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, $2)`, [APPEND_CHANNEL, payload])
      .catch(() => undefined)
      .finally(() => {
        this.notifying = false;
        if (this.notifyOwed) this.notifyOthers();
      });
  }

  /**
   * Appends to one or several streams, all or nothing. A stream whose version
   * differs from the expected one fails the whole append with
   * WrongExpectedVersionError. With the chain heads known, this is one
   * statement and one round trip (append_to_streams, its own transaction).
   */
  async append(requests: AppendRequest<E>[], metadata: EventMetadata = {}): Promise<AppendResult<E>> {
    return this.appendWith(requests, metadata, null);
  }

  /**
   * Appends a command's events and records the command in the same
   * statement (append_command): one round trip. A command id recorded
   * before fails it with CommandAlreadyHandledError and nothing is written.
   * Without events, only the command is recorded.
   */
  async appendCommand(
    requests: AppendRequest<E>[],
    metadata: EventMetadata,
    command: CommandRecord,
  ): Promise<AppendResult<E>> {
    return this.appendWith(requests, { ...metadata, commandId: command.commandId }, command);
  }

  private async appendWith(
    requests: AppendRequest<E>[],
    metadata: EventMetadata,
    command: CommandRecord | null,
  ): Promise<AppendResult<E>> {
    validate(requests);
    const plan = this.plan(requests, metadata);
    if (plan.length === 0) {
      if (command && !(await this.recordCommand(command))) throw new CommandAlreadyHandledError(command.commandId);
      return nothingAppended<E>();
    }
    let result = await this.tryAppend(this.dataSource.manager, plan, command);
    // A stale chain head (another process appended): again in a transaction, which keeps the streams locked
    // from its first try on, so a second stale answer cannot follow.
    result ??= await this.dataSource.transaction((tx) => this.appendPlan(tx, plan, command));
    // The event types and checkpoint let readers of other types sleep on.
    if (result.checkpoint) this.committed(signalOf(result));
    countAppended(result.events);
    return result;
  }

  /** Records a command that appended nothing; false when its id was recorded before. */
  private async recordCommand(command: CommandRecord): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(
      `INSERT INTO commands (command_id, command_type, payload_hash, result, position)
       VALUES ($1, $2, $3, $4, NULL) ON CONFLICT (command_id) DO NOTHING RETURNING 1`,
      [command.commandId, command.type, command.payloadHash, JSON.stringify(command.result ?? null)],
    );
    return rows.length === 1;
  }

  /** A command recorded before, or null. */
  async recordedCommand(commandId: string): Promise<RecordedCommand | null> {
    const rows: { payload_hash: string; result: unknown; transaction_id: string; position: string | null }[] =
      await this.dataSource.query(
        `SELECT payload_hash, result, transaction_id, position FROM commands WHERE command_id = $1`,
        [commandId],
      );
    const row = rows[0];
    if (!row) return null;
    const checkpoint =
      row.position === null ? null : { transactionId: row.transaction_id, position: Number(row.position) };
    return { payloadHash: row.payload_hash, result: row.result, checkpoint };
  }

  /** Streams of a category whose last event has this type (e.g. ARQs left `BindStarted`). */
  async streamsEndingWith(category: string, type: string): Promise<string[]> {
    const rows: { stream_id: string }[] = await this.dataSource.query(
      `SELECT s.stream_id FROM streams s JOIN events e ON e.stream_id = s.stream_id AND e.version = s.version
       WHERE s.category = $1 AND e.type = $2`,
      [category, type],
    );
    return rows.map((r) => r.stream_id);
  }

  /** Streams of a category holding at least one event of this type (sweeps for work a stopped process left). */
  async streamsWithEvent(category: string, type: string): Promise<string[]> {
    const rows: { stream_id: string }[] = await this.dataSource.query(
      `SELECT DISTINCT stream_id FROM events WHERE category = $1 AND type = $2 ORDER BY stream_id`,
      [category, type],
    );
    return rows.map((r) => r.stream_id);
  }

  /**
   * The same as append, inside a caller's transaction (commands, tests of
   * rollbacks). The caller calls committed(signalOf(result)) once its transaction commits.
   */
  async appendInTransaction(
    tx: EntityManager,
    requests: AppendRequest<E>[],
    metadata: EventMetadata = {},
  ): Promise<AppendResult<E>> {
    validate(requests);
    const plan = this.plan(requests, metadata);
    return plan.length === 0 ? nothingAppended<E>() : this.appendPlan(tx, plan);
  }

  private async appendPlan(
    tx: EntityManager,
    plan: PlannedStream[],
    command: CommandRecord | null = null,
  ): Promise<AppendResult<E>> {
    // A stale answer leaves the streams locked until the transaction ends and the cache holding their
    // heads, so the next try goes through (or conflicts); the bound only guards against a bug.
    for (let attempt = 1; ; attempt++) {
      const result = await this.tryAppend(tx, plan, command);
      if (result) return result;
      if (attempt >= MAX_STALE_ATTEMPTS) {
        throw new Error(`append to ${plan.map((s) => s.streamId).join(', ')}: chain heads kept moving`);
      }
    }
  }

  /** The streams of an append with events, in lock order, each event's immutable part fixed once. */
  private plan(requests: AppendRequest<E>[], metadata: EventMetadata): PlannedStream[] {
    const occurredAt = new Date();
    return requests
      .filter((r) => r.events.length > 0)
      .sort((a, b) => (a.streamId < b.streamId ? -1 : a.streamId > b.streamId ? 1 : 0))
      .map((r) => ({
        streamId: r.streamId,
        category: streamCategory(r.streamId),
        expectedVersion: r.expectedVersion,
        metadata,
        occurredAt,
        events: r.events.map((event) => ({
          eventId: event.eventId ?? randomUUID(),
          type: event.type,
          schemaVersion: event.schemaVersion ?? this.registry.currentVersion(event.type),
          data: event.data,
        })),
      }));
  }

  /**
   * One append_to_streams call, hashed from the cached chain heads (read
   * first where none is cached). Null when a head was stale: the cache then
   * holds the current heads, read under the streams' locks.
   */
  private async tryAppend(
    manager: EntityManager,
    plan: PlannedStream[],
    command: CommandRecord | null,
  ): Promise<AppendResult<E> | null> {
    const unknown = plan.filter((s) => this.knownHead(s) === null).map((s) => s.streamId);
    if (unknown.length > 0) {
      const rows: HeadRow[] = await manager.query(
        `SELECT stream_id, version, last_hash FROM streams WHERE stream_id = ANY ($1::text[])`,
        [unknown],
      );
      for (const id of unknown) this.rememberHead(id, 0, null);
      for (const row of rows) this.rememberHead(row.stream_id, Number(row.version), row.last_hash);
    }
    const streams: unknown[][] = [[], [], [], [], [], [], []];
    const events: unknown[][] = [[], [], [], [], [], [], [], [], []];
    const recorded: Omit<RecordedEvent, 'position' | 'transactionId'>[] = [];
    const versions: Record<string, number> = {};
    const newHeads: [string, number, string][] = [];
    for (const s of plan) {
      // Still unknown: the stream is at another version than expected, which the database will say.
      const { base, hash: head } = this.knownHead(s) ?? { base: s.expectedVersion as number, hash: null };
      let prevHash = head;
      s.events.forEach((event, i) => {
        const e = {
          ...event,
          streamId: s.streamId,
          category: s.category,
          version: base + i + 1,
          metadata: s.metadata,
          occurredAt: s.occurredAt,
          prevHash,
        };
        const hash = eventHash(e);
        prevHash = hash;
        recorded.push({ ...e, hash });
        const values = [
          e.eventId,
          e.streamId,
          e.category,
          e.version,
          e.type,
          e.schemaVersion,
          JSON.stringify(e.data),
          e.prevHash,
          hash,
        ];
        values.forEach((v, column) => events[column].push(v));
      });
      const expected = s.expectedVersion === 'any' ? null : s.expectedVersion;
      const values = [s.streamId, s.category, expected, base, head, s.events.length, prevHash];
      values.forEach((v, column) => streams[column].push(v));
      versions[s.streamId] = base + s.events.length;
      newHeads.push([s.streamId, versions[s.streamId], prevHash as string]);
    }

    let rows: AppendRow[];
    try {
      const params = [...streams, ...events, JSON.stringify(plan[0].metadata), plan[0].occurredAt.toISOString()];
      rows = command
        ? await manager.query(
            `SELECT * FROM append_command(${APPEND_ARGS}, $19::text, $20::text, $21::text, $22::jsonb)`,
            [...params, command.commandId, command.type, command.payloadHash, JSON.stringify(command.result ?? null)],
          )
        : await manager.query(`SELECT * FROM append_to_streams(${APPEND_ARGS})`, params);
    } catch (error) {
      if (command && (error as { code?: string }).code === COMMAND_HANDLED) {
        throw new CommandAlreadyHandledError(command.commandId);
      }
      throw wrongExpectedVersion(error, plan) ?? error;
    }
    if (rows[0]?.position === null) {
      for (const row of rows) this.rememberHead(row.stream_id as string, Number(row.version), row.last_hash);
      return null;
    }
    // Inside a caller's transaction these heads may yet roll back; the next append then finds them stale.
    for (const [id, version, hash] of newHeads) this.rememberHead(id, version, hash);
    const appended: RecordedEvent[] = recorded.map((e, i) => ({
      ...e,
      position: Number(rows[i].position),
      transactionId: rows[i].transaction_id as string,
    }));
    const last = appended[appended.length - 1];
    const checkpoint = { transactionId: last.transactionId, position: last.position };
    // The events are the caller's own, typed as it gave them.
    return { versions, checkpoint, events: appended as RecordedEvent<E>[] };
  }

  /** The version and hash an append to this stream chains from, when known without asking the database. */
  private knownHead(s: PlannedStream): { base: number; hash: string | null } | null {
    if (s.expectedVersion === 0) return { base: 0, hash: null };
    const cached = this.heads.get(s.streamId);
    if (!cached) return null;
    if (s.expectedVersion === 'any') return { base: cached.version, hash: cached.hash };
    return cached.version === s.expectedVersion ? { base: cached.version, hash: cached.hash } : null;
  }

  /** Caches a stream's chain head; the least recently written ones go first. */
  private rememberHead(streamId: string, version: number, hash: string | null): void {
    this.heads.delete(streamId);
    this.heads.set(streamId, { version, hash });
    if (this.heads.size > MAX_CACHED_HEADS) this.heads.delete(this.heads.keys().next().value as string);
  }

  /** The events of one stream, oldest first, upcast to their current schema. */
  async readStream(
    streamId: string,
    options: { fromVersion?: number; manager?: EntityManager } = {},
  ): Promise<RecordedEvent<E>[]> {
    const rows: EventRow[] = await (options.manager ?? this.dataSource.manager).query(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE stream_id = $1 AND version > $2 ORDER BY version`,
      [streamId, options.fromVersion ?? 0],
    );
    // Commands read a stream before appending to it: its last event is the head the append chains from.
    const last = rows[rows.length - 1];
    if (last && Number(last.version) >= (this.heads.get(streamId)?.version ?? 0)) {
      this.rememberHead(streamId, Number(last.version), last.hash);
    }
    return rows.map((r) => this.toRecorded(r));
  }

  /** The current version of a stream; 0 when it has no events. */
  async streamVersion(streamId: string, manager?: EntityManager): Promise<number> {
    const rows = await (manager ?? this.dataSource.manager).query(`SELECT version FROM streams WHERE stream_id = $1`, [
      streamId,
    ]);
    return rows[0] ? Number(rows[0].version) : 0;
  }

  /**
   * Reads the whole log after a checkpoint, in one order that every reader
   * sees the same. Only transactions older than every running one are read,
   * so an event that commits late can never land behind the checkpoint.
   */
  async readAll(options: ReadAllOptions = {}, manager?: EntityManager): Promise<ReadAllResult<E>> {
    const after = options.after ?? LOG_START;
    const limit = options.limit ?? 500;
    // One statement, one snapshot: the events of the wanted types, and the newest event below the horizon of
    // any type, which is where a read that got fewer than `limit` moves on to (the types are filtered here,
    // by the database, so a reader of few types is not sent the whole log).
    const rows: ReadRow[] = await (manager ?? this.dataSource.manager).query(
      `WITH horizon AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin),
       newest AS (
         SELECT transaction_id, position FROM events, horizon
         WHERE (transaction_id, position) > ($1::xid8, $2::bigint) AND transaction_id < horizon.xmin
         ORDER BY transaction_id DESC, position DESC
         LIMIT 1)
       SELECT n.transaction_id AS last_transaction_id, n.position AS last_position, e.*
       FROM newest n LEFT JOIN LATERAL (
         SELECT ${EVENT_COLUMNS} FROM events, horizon
         WHERE (transaction_id, position) > ($1::xid8, $2::bigint) AND transaction_id < horizon.xmin
           AND ($4::text[] IS NULL OR type = ANY ($4::text[]))
         ORDER BY transaction_id, position
         LIMIT $3) AS e ON true`,
      [after.transactionId, after.position, limit, options.types ? [...options.types] : null],
    );
    // No row: nothing after `after` is readable yet. One row without an event: none of the wanted types.
    if (rows.length === 0) return { events: [], checkpoint: after };
    const scanned = { transactionId: rows[0].last_transaction_id as string, position: Number(rows[0].last_position) };
    const eventRows = (rows[0].position === null ? [] : rows) as EventRow[];
    const events = inLogOrder(eventRows.map((r) => this.toRecorded(r)));
    if (events.length === limit) {
      const last = events[events.length - 1];
      return { events, checkpoint: { transactionId: last.transactionId, position: last.position } };
    }
    return { events, checkpoint: scanned };
  }

  /** The checkpoint of the newest event that readers may see now. */
  async head(manager?: EntityManager): Promise<Checkpoint> {
    const rows = await (manager ?? this.dataSource.manager).query(
      `SELECT transaction_id, position FROM events
       WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())
       ORDER BY transaction_id DESC, position DESC LIMIT 1`,
    );
    return rows[0] ? { transactionId: rows[0].transaction_id, position: Number(rows[0].position) } : LOG_START;
  }

  /** A row as the event its type registered, upcast to the current schema: the one place rows become typed events. */
  toRecorded(row: EventRow): RecordedEvent<E> {
    const { schemaVersion, data } = this.registry.upcast(row.type, row.schema_version, row.data);
    const recorded: RecordedEvent = {
      eventId: row.event_id,
      streamId: row.stream_id,
      category: row.category,
      version: Number(row.version),
      position: Number(row.position),
      transactionId: row.transaction_id,
      type: row.type,
      schemaVersion,
      data,
      metadata: row.metadata,
      occurredAt: row.occurred_at,
      prevHash: row.prev_hash,
      hash: row.hash,
    };
    // The registry's schemas say what each type's data is at its current version.
    return recorded as RecordedEvent<E>;
  }
}

/** The rows come in log order from the lateral scan; should a plan ever change that, they are put back in it. */
function inLogOrder<T extends Checkpoint>(events: T[]): T[] {
  for (let i = 1; i < events.length; i++) {
    if (compareCheckpoints(events[i - 1], events[i]) >= 0) return events.sort(compareCheckpoints);
  }
  return events;
}

/** What an append tells the readers it wakes. */
export function signalOf<E extends EventLike>(result: AppendResult<E>): AppendSignal {
  return { types: [...new Set(result.events.map((e) => e.type))], checkpoint: result.checkpoint };
}

/** One key per database, whatever DataSource reaches it, so that the stores of one process find each other. */
function databaseKey(dataSource: DataSource): string {
  const o = dataSource.options as { url?: string; host?: string; port?: number; database?: string };
  if (o.url) {
    try {
      const url = new URL(o.url);
      return `${url.hostname}:${url.port || 5432}${url.pathname}`;
    } catch {
      return o.url;
    }
  }
  return `${o.host ?? 'localhost'}:${o.port ?? 5432}/${o.database ?? ''}`;
}

/** The typed conflict for append_to_streams' CY409, or null for any other error. */
function wrongExpectedVersion(error: unknown, plan: PlannedStream[]): WrongExpectedVersionError | null {
  const { code, detail } = error as { code?: string; detail?: string };
  if (code !== WRONG_EXPECTED_VERSION || !detail) return null;
  const { streamId, actual } = JSON.parse(detail) as { streamId: string; actual: number };
  const expected = plan.find((s) => s.streamId === streamId)?.expectedVersion;
  return new WrongExpectedVersionError(streamId, typeof expected === 'number' ? expected : -1, Number(actual));
}

const STREAM_ID = /^[a-z][a-z0-9_]*-[^\s]+$/;

function validate(requests: AppendRequest<EventLike>[]): void {
  const seen = new Set<string>();
  let total = 0;
  for (const r of requests) {
    if (!STREAM_ID.test(r.streamId) || r.streamId.length > 255) {
      throw new InvalidAppendError(`stream id "${r.streamId}" must look like <category>-<id>`);
    }
    if (seen.has(r.streamId)) throw new InvalidAppendError(`stream ${r.streamId} appears twice in one append`);
    seen.add(r.streamId);
    if (r.expectedVersion !== 'any' && (!Number.isInteger(r.expectedVersion) || r.expectedVersion < 0)) {
      throw new InvalidAppendError(`expected version of ${r.streamId} must be a non-negative integer or 'any'`);
    }
    for (const e of r.events) {
      if (!e.type || typeof e.type !== 'string') throw new InvalidAppendError('every event needs a type name');
    }
    total += r.events.length;
  }
  if (total > MAX_EVENTS_PER_APPEND) {
    throw new InvalidAppendError(`one append may hold at most ${MAX_EVENTS_PER_APPEND} events`);
  }
}

function countAppended(events: readonly { type: string }[]): void {
  const counter = processMetrics().eventsAppended;
  for (const event of events) counter.inc({ type: event.type });
}
