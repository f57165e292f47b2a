import type { CyborgEvent } from '@cyborg/contracts';
import type { Checkpoint, EventRow, EventStore, RecordedEvent } from '@cyborg/event-store';
import type { DataSource } from 'typeorm';

/**
 * The event log as audit reads it: streams and the head through the store,
 * and audit's own queries over the log's tables (filters no command needs)
 * through the service's DataSource, their rows typed and upcast by the store.
 */
export class AuditLog {
  constructor(
    private readonly store: EventStore<CyborgEvent>,
    private readonly dataSource: DataSource,
  ) {}

  readStream(streamId: string): Promise<RecordedEvent<CyborgEvent>[]> {
    return this.store.readStream(streamId);
  }

  head(): Promise<Checkpoint> {
    return this.store.head();
  }

  /** The events a query of `events` rows (EVENT_COLUMNS) selects, in its order. */
  async events(query: string, params: unknown[]): Promise<RecordedEvent<CyborgEvent>[]> {
    const rows: EventRow[] = await this.dataSource.query(query, params);
    return rows.map((row) => this.store.toRecorded(row));
  }

  /** Rows of a query over the log's tables. */
  rows<T>(query: string, params: unknown[] = []): Promise<T[]> {
    return this.dataSource.query(query, params);
  }
}
