import { eventHash } from '@cyborg/event-store';
import type { DataSource } from 'typeorm';

/** An events row as `SELECT *` returns it. */
interface Row {
  event_id: string;
  stream_id: string;
  version: string;
  type: string;
  schema_version: number;
  data: Record<string, unknown>;
  metadata: unknown;
  occurred_at: Date;
  prev_hash: string | null;
}

type Query = (text: string, params?: unknown[]) => Promise<{ records: unknown[] }>;

/**
 * What a database superuser can do to the event log: triggers off
 * (`session_replication_role = replica`), rows changed, every hash after
 * the change recomputed with the project's own hash function, so that the
 * chains inside PostgreSQL verify again.
 */
async function asSuperuser<T>(ds: DataSource, work: (query: Query) => Promise<T>): Promise<T> {
  const qr = ds.createQueryRunner();
  await qr.connect();
  try {
    await qr.query(`SET session_replication_role = replica`);
    await qr.startTransaction();
    const result = await work((text, params = []) => qr.query(text, params, true));
    await qr.commitTransaction();
    return result;
  } finally {
    await qr.query(`RESET session_replication_role`).catch(() => undefined);
    await qr.release();
  }
}

/** Replaces one event's data and recomputes the hash of it and of every later event of its stream. */
export function rewriteEvent(ds: DataSource, streamId: string, version: number, data: Record<string, unknown>) {
  return asSuperuser(ds, async (query) => {
    const rows = (
      await query(`SELECT * FROM events WHERE stream_id = $1 AND version >= $2 ORDER BY version`, [streamId, version])
    ).records as Row[];
    let prevHash: string | null = rows[0].prev_hash;
    for (const [i, r] of rows.entries()) {
      const newData = i === 0 ? data : r.data;
      const hash = eventHash({
        eventId: r.event_id,
        streamId: r.stream_id,
        version: Number(r.version),
        type: r.type,
        schemaVersion: r.schema_version,
        data: newData,
        metadata: r.metadata,
        occurredAt: r.occurred_at,
        prevHash,
      });
      await query(`UPDATE events SET data = $1, prev_hash = $2, hash = $3 WHERE event_id = $4`, [
        newData,
        prevHash,
        hash,
        r.event_id,
      ]);
      prevHash = hash;
    }
    await query(`UPDATE streams SET last_hash = $1 WHERE stream_id = $2`, [prevHash, streamId]);
  });
}

export interface RemovedEvent {
  stream_id: string;
  version: string;
  position: string;
  event_id: string;
}

/** Removes the newest events of the log and sets their streams back, so chains and versions still agree; oldest first. */
export function deleteNewestEvents(ds: DataSource, count: number): Promise<RemovedEvent[]> {
  return asSuperuser(ds, async (query) => {
    const { records: gone } = await query(
      `DELETE FROM events WHERE position IN (SELECT position FROM events ORDER BY position DESC LIMIT $1)
       RETURNING stream_id, version, position, event_id`,
      [count],
    );
    await query(
      `UPDATE streams s SET version = h.version, last_hash = h.hash
       FROM (SELECT DISTINCT ON (stream_id) stream_id, version, hash FROM events ORDER BY stream_id, version DESC) h
       WHERE s.stream_id = h.stream_id`,
    );
    return (gone as RemovedEvent[]).sort((a, b) => Number(a.position) - Number(b.position));
  });
}
