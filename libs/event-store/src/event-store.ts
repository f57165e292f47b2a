import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { InvalidAppendError, WrongExpectedVersionError } from './errors';
import { sql } from './database/sql';
import { eventHash } from './hash';
import {
  type AppendRequest,
  type AppendResult,
  type Checkpoint,
  type EventData,
  type EventMetadata,
  type RecordedEvent,
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

export interface ReadAllResult {
  events: RecordedEvent[];
  /** Where the next read starts; past the last event scanned, filtered or not. */
  checkpoint: Checkpoint;
}

const MAX_EVENTS_PER_APPEND = 10_000;

/**
 * The append-only event log in PostgreSQL. Writers append to streams with an
 * expected version; readers follow the whole log in a gap-free order.
 */
export class EventStore {
  private readonly appendListeners = new Set<() => void>();
  private notifying = false;
  private notifyAgain = false;

  constructor(
    readonly dataSource: DataSource,
    readonly registry: EventTypeRegistry = new EventTypeRegistry(),
  ) {}

  /** Called after each committed append of this process; returns the unsubscribe. */
  onAppended(listener: () => void): () => void {
    this.appendListeners.add(listener);
    return () => this.appendListeners.delete(listener);
  }

  /**
   * Wakes log readers once an append has committed: those of this process at
   * once, those of other processes by NOTIFY. The NOTIFY is sent outside the
   * append's transaction (inside it, PostgreSQL serialises every commit on a
   * database-wide lock) and coalesced, so a burst of appends sends a few.
   * Readers also poll, so a lost notification only delays them.
   */
  committed(): void {
    for (const listener of this.appendListeners) listener();
    if (this.notifying) {
      this.notifyAgain = true;
      return;
    }
    this.notifying = true;
    void this.dataSource
      .query(`SELECT pg_notify('cyborg_events', '')`)
      .catch(() => undefined)
      .finally(() => {
        this.notifying = false;
        if (this.notifyAgain) {
          this.notifyAgain = false;
          this.committed();
        }
      });
  }

  /**
   * Appends to one or several streams in one transaction: all or nothing.
   * A stream whose version differs from the expected one fails the whole
   * append with WrongExpectedVersionError.
   */
  async append(requests: AppendRequest[], metadata: EventMetadata = {}): Promise<AppendResult> {
    const result = await this.dataSource.transaction((tx) => this.appendInTransaction(tx, requests, metadata));
    if (result.checkpoint) this.committed();
    return result;
  }

  /**
   * The same as append, inside a caller's transaction (commands, tests of
   * rollbacks). The caller calls committed() once its transaction commits.
   */
  async appendInTransaction(
    tx: EntityManager,
    requests: AppendRequest[],
    metadata: EventMetadata = {},
  ): Promise<AppendResult> {
    validate(requests);
    const occurredAt = new Date();
    const versions: Record<string, number> = {};
    const rows: unknown[][] = [[], [], [], [], [], [], [], [], [], [], []];
    const recorded: Omit<RecordedEvent, 'position' | 'transactionId'>[] = [];
    const chainHeads: [string, string][] = [];

    // Lock streams in a fixed order so two multi-stream appends cannot deadlock.
    const ordered = [...requests].sort((a, b) => (a.streamId < b.streamId ? -1 : a.streamId > b.streamId ? 1 : 0));
    for (const request of ordered) {
      if (request.events.length === 0) continue;
      const { version: start, lastHash } = await this.claimVersions(tx, request);
      let prevHash = lastHash;
      request.events.forEach((event, i) => {
        const e = {
          eventId: event.eventId ?? randomUUID(),
          streamId: request.streamId,
          category: streamCategory(request.streamId),
          version: start + i + 1,
          type: event.type,
          schemaVersion: event.schemaVersion ?? this.registry.currentVersion(event.type),
          data: event.data,
          metadata,
          occurredAt,
          prevHash,
        };
        const hash = eventHash(e);
        prevHash = hash;
        recorded.push({ ...e, hash });
        const values = [
          e.eventId, e.streamId, e.category, e.version, e.type, e.schemaVersion,
          JSON.stringify(e.data), JSON.stringify(e.metadata), e.prevHash, hash,
        ];
        values.forEach((v, column) => rows[column].push(v));
      });
      versions[request.streamId] = start + request.events.length;
      chainHeads.push([request.streamId, prevHash as string]);
    }
    if (recorded.length === 0) return { versions, checkpoint: null, events: [] };
    await tx.query(
      `UPDATE streams s SET last_hash = h.hash FROM unnest($1::text[], $2::text[]) AS h(stream_id, hash)
       WHERE s.stream_id = h.stream_id`,
      [chainHeads.map((h) => h[0]), chainHeads.map((h) => h[1])],
    );

    rows[10] = [occurredAt.toISOString()];
    const inserted: { position: string; transaction_id: string }[] = await tx.query(
      `INSERT INTO events (event_id, stream_id, category, version, type, schema_version,
                           data, metadata, prev_hash, hash, occurred_at)
       SELECT e.*, $11::timestamptz FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bigint[],
         $5::text[], $6::int[], $7::jsonb[], $8::jsonb[], $9::text[], $10::text[]) AS e
       RETURNING position, transaction_id`,
      [...rows.slice(0, 10), rows[10][0]],
    );
    const events: RecordedEvent[] = recorded.map((e, i) => ({
      ...e,
      position: Number(inserted[i].position),
      transactionId: inserted[i].transaction_id,
    }));
    const last = events[events.length - 1];
    return { versions, checkpoint: { transactionId: last.transactionId, position: last.position }, events };
  }

  /** Takes the stream's next versions; the row lock serialises writers of one stream. */
  private async claimVersions(
    tx: EntityManager,
    request: AppendRequest,
  ): Promise<{ version: number; lastHash: string | null }> {
    const n = request.events.length;
    const { streamId, expectedVersion } = request;
    const category = streamCategory(streamId);
    if (expectedVersion === 'any' || expectedVersion === 0) {
      // A new stream starts at version 0; a concurrent creator makes this wait, then no-op.
      await tx.query(
        `INSERT INTO streams (stream_id, category, version) VALUES ($1, $2, 0) ON CONFLICT (stream_id) DO NOTHING`,
        [streamId, category],
      );
    }
    // Under READ COMMITTED a blocked UPDATE re-reads the row once the lock is free,
    // so the version check always sees the latest committed version.
    const { rows } = await sql<{ version: string; last_hash: string | null }>(
      tx,
      `UPDATE streams SET version = version + $2, updated_at = now()
       WHERE stream_id = $1 ${expectedVersion === 'any' ? '' : 'AND version = $3'}
       RETURNING version - $2 AS version, last_hash`,
      expectedVersion === 'any' ? [streamId, n] : [streamId, n, expectedVersion],
    );
    if (rows.length === 0 && expectedVersion !== 'any') {
      const actual = await tx.query(`SELECT version FROM streams WHERE stream_id = $1`, [streamId]);
      throw new WrongExpectedVersionError(streamId, expectedVersion, actual[0] ? Number(actual[0].version) : 0);
    }
    return { version: Number(rows[0].version), lastHash: rows[0].last_hash };
  }

  /** The events of one stream, oldest first, upcast to their current schema. */
  async readStream(streamId: string, options: { fromVersion?: number; manager?: EntityManager } = {}) {
    const rows: EventRow[] = await (options.manager ?? this.dataSource.manager).query(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE stream_id = $1 AND version > $2 ORDER BY version`,
      [streamId, options.fromVersion ?? 0],
    );
    return rows.map((r) => this.toRecorded(r));
  }

  /** The current version of a stream; 0 when it has no events. */
  async streamVersion(streamId: string, manager?: EntityManager): Promise<number> {
    const rows = await (manager ?? this.dataSource.manager).query(
      `SELECT version FROM streams WHERE stream_id = $1`,
      [streamId],
    );
    return rows[0] ? Number(rows[0].version) : 0;
  }

  /**
   * Reads the whole log after a checkpoint, in one order that every reader
   * sees the same. Only transactions older than every running one are read,
   * so an event that commits late can never land behind the checkpoint.
   */
  async readAll(options: ReadAllOptions = {}, manager?: EntityManager): Promise<ReadAllResult> {
    const after = options.after ?? LOG_START;
    const limit = options.limit ?? 500;
    const rows: EventRow[] = await (manager ?? this.dataSource.manager).query(
      `SELECT ${EVENT_COLUMNS} FROM events
       WHERE (transaction_id, position) > ($1::xid8, $2::bigint)
         AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
       ORDER BY transaction_id, position
       LIMIT $3`,
      [after.transactionId, after.position, limit],
    );
    if (rows.length === 0) return { events: [], checkpoint: after };
    const last = rows[rows.length - 1];
    const checkpoint = { transactionId: last.transaction_id, position: Number(last.position) };
    const wanted = options.types ? new Set(options.types) : null;
    const events = rows.filter((r) => !wanted || wanted.has(r.type)).map((r) => this.toRecorded(r));
    return { events, checkpoint };
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

  toRecorded(row: EventRow): RecordedEvent {
    const { schemaVersion, data } = this.registry.upcast(row.type, row.schema_version, row.data);
    return {
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
  }
}

const STREAM_ID = /^[a-z][a-z0-9_]*-[^\s]+$/;

function validate(requests: AppendRequest[]): void {
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
