import type { CyborgMetrics } from './metrics';

/** What the lag needs of a database: TypeORM's DataSource and a pg client both fit. */
export interface LagQuery {
  query(sql: string, parameters?: unknown[]): Promise<unknown>;
}

interface LagRow {
  name: string;
  events: number;
  seconds: number | string | null;
}

/**
 * Reads, at each scrape, how far the named log processors are behind the
 * committed log: events past their checkpoint (below the snapshot's xmin,
 * as every reader sees the log) and the age of the oldest of them.
 */
export function watchProcessorLag(metrics: CyborgMetrics, db: LagQuery, names: readonly string[]): () => void {
  return metrics.onScrape(async () => {
    const rows = (await db.query(
      `SELECT c.name, pending.events, EXTRACT(EPOCH FROM now() - pending.oldest)::float8 AS seconds
       FROM checkpoints c
       CROSS JOIN LATERAL (
         SELECT count(*)::int AS events, min(e.occurred_at) AS oldest FROM events e
         WHERE (e.transaction_id, e.position) > (c.transaction_id, c.position)
           AND e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())
       ) pending
       WHERE c.name = ANY($1::text[])`,
      [names],
    )) as LagRow[];
    for (const row of rows) {
      metrics.processorLagEvents.set({ processor: row.name }, Number(row.events));
      metrics.processorLagSeconds.set({ processor: row.name }, Math.max(0, Number(row.seconds ?? 0)));
    }
  });
}
