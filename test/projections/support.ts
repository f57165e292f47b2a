import type { CyborgEvent } from '@cyborg/contracts';
import type { DataSource, EntityManager } from 'typeorm';
import { type Checkpoint, compareCheckpoints, type EventStore, type RecordedEvent } from '@cyborg/event-store';
import type { Projection } from '@cyborg/projections';

/**
 * Every event of the log after `from` up to `to`, in log order. Readers see
 * an event once every older transaction in the cluster has ended, so this
 * waits for the last ones to become readable.
 */
export async function readLog(
  store: EventStore<CyborgEvent>,
  from: Checkpoint,
  to: Checkpoint,
): Promise<RecordedEvent<CyborgEvent>[]> {
  const events: RecordedEvent<CyborgEvent>[] = [];
  const deadline = Date.now() + 30_000;
  for (let after = from; compareCheckpoints(after, to) < 0;) {
    const page = await store.readAll({ after, limit: 1000 });
    if (page.events.length === 0) {
      if (Date.now() > deadline) throw new Error('appended events did not become readable within 30 s');
      await new Promise((resolve) => setTimeout(resolve, 20));
      continue;
    }
    events.push(...page.events);
    after = page.checkpoint;
  }
  return events;
}

/** Empty copies of the projections' tables in a schema of their own (columns, defaults, indexes). */
export async function emptyCopies(ds: DataSource, schema: string, projections: readonly Projection[]): Promise<void> {
  await ds.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await ds.query(`CREATE SCHEMA ${schema}`);
  for (const table of projections.flatMap((p) => p.tables)) {
    await ds.query(`CREATE TABLE ${schema}.${table} (LIKE public.${table} INCLUDING ALL)`);
  }
}

/** Runs `work` in one transaction whose unqualified table names are those of `schema`. */
export function inSchema<T>(ds: DataSource, schema: string, work: (tx: EntityManager) => Promise<T>): Promise<T> {
  return ds.transaction(async (tx) => {
    await tx.query(`SET LOCAL search_path TO ${schema}, public`);
    return work(tx);
  });
}

/** Every row of the tables, as text, ordered by key: what must match byte for byte. */
export async function dumpTables(ds: DataSource, schema: string, tables: readonly string[]): Promise<string> {
  const out: Record<string, string[]> = {};
  for (const table of tables) {
    const rows: { row: string }[] = await ds.query(
      `SELECT to_jsonb(t)::text AS row FROM ${schema}.${table} t ORDER BY uuid`,
    );
    out[table] = rows.map((r) => r.row);
  }
  return JSON.stringify(out, null, 1);
}

/**
 * The newest committed event, whether readers may see it yet or not: after
 * writers have finished, what a projection must reach (store.head() can lag
 * behind while another session of the cluster holds a transaction open).
 */
export async function committedHead(ds: DataSource): Promise<Checkpoint> {
  const rows: { transaction_id: string; position: string }[] = await ds.query(
    `SELECT transaction_id, position FROM events ORDER BY transaction_id DESC, position DESC LIMIT 1`,
  );
  return { transactionId: rows[0].transaction_id, position: Number(rows[0].position) };
}
