import type { EventStore } from '../event-store';
import { storeDatabase } from '../store-database';

/** Where one reader of the log (a projection, the JetStream relay, a consumer) stands, seen from any process. */
export interface LogReaderStatus {
  name: string;
  /** The log position its checkpoint has reached. */
  position: number;
  /** Events committed after its checkpoint, up to the head. */
  lag: number;
  /** Seconds between the newest event it applied and the head's; 0 when caught up. */
  lagSeconds: number;
  eventsHandled: number;
  updatedAt: Date;
  lastError: string | null;
  lastErrorAt: Date | null;
}

export interface LogReadersReport {
  head: { position: number; occurredAt: Date | null };
  readers: LogReaderStatus[];
}

/** Every checkpoint in the `checkpoints` table against the head of the log. */
export async function logReadersStatus(store: EventStore): Promise<LogReadersReport> {
  const head = await store.head();
  const rows: {
    name: string;
    position: string;
    events_handled: string;
    updated_at: Date;
    last_error: string | null;
    last_error_at: Date | null;
    lag: number;
    lag_seconds: number | null;
    head_at: Date | null;
  }[] = await storeDatabase(store).query(
    `WITH head AS (SELECT occurred_at FROM events WHERE position = $2::bigint)
     SELECT c.name, c.position, c.events_handled, c.updated_at, c.last_error, c.last_error_at,
            (SELECT count(*)::int FROM events e
              WHERE (e.transaction_id, e.position) > (c.transaction_id, c.position)
                AND (e.transaction_id, e.position) <= ($1::xid8, $2::bigint)) AS lag,
            EXTRACT(EPOCH FROM ((SELECT occurred_at FROM head) -
              COALESCE((SELECT occurred_at FROM events e WHERE e.position = c.position),
                       (SELECT min(occurred_at) FROM events))))::float8 AS lag_seconds,
            (SELECT occurred_at FROM head) AS head_at
     FROM checkpoints c
     WHERE c.name NOT LIKE 'projection_rebuild%'
     ORDER BY c.name`,
    [head.transactionId, head.position],
  );
  return {
    head: { position: head.position, occurredAt: rows[0]?.head_at ?? null },
    readers: rows.map((r) => ({
      name: r.name,
      position: Number(r.position),
      lag: r.lag,
      lagSeconds: r.lag === 0 ? 0 : Math.max(0, Math.round((r.lag_seconds ?? 0) * 1000) / 1000),
      eventsHandled: Number(r.events_handled),
      updatedAt: r.updated_at,
      lastError: r.last_error,
      lastErrorAt: r.last_error_at,
    })),
  };
}
