import { EVENT_COLUMNS } from '@cyborg/event-store';
import type pg from 'pg';
import { type BenchContext, shared } from '../support/context';
import { now } from '../support/timing';

export interface ScanResult {
  events: number;
  seconds: number;
  rate: number;
}

/**
 * The raw baseline read: plain pg, keyset pagination on position, the same
 * columns as readAll, page by page; rows come back parsed by pg (jsonb
 * objects, Dates) exactly as they reach the event store, and nothing more.
 */
export async function rawKeysetScan(pool: pg.Pool, pageSize: number): Promise<ScanResult> {
  const client = await pool.connect();
  try {
    const started = now();
    let after = 0;
    let events = 0;
    for (;;) {
      const { rows } = await client.query(
        `SELECT ${EVENT_COLUMNS} FROM events WHERE position > $1 ORDER BY position LIMIT $2`,
        [after, pageSize],
      );
      events += rows.length;
      if (rows.length < pageSize) break;
      after = Number(rows[rows.length - 1].position);
    }
    const seconds = (now() - started) / 1000;
    return { events, seconds, rate: events / seconds };
  } finally {
    client.release();
  }
}

/** One server-side cursor over the whole log in log order, FETCHed a page at a time. */
export async function rawCursorScan(pool: pg.Pool, pageSize: number): Promise<ScanResult> {
  const client = await pool.connect();
  try {
    const started = now();
    let events = 0;
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await client.query(
      `DECLARE log NO SCROLL CURSOR FOR SELECT ${EVENT_COLUMNS} FROM events ORDER BY transaction_id, position`,
    );
    for (;;) {
      const { rows } = await client.query(`FETCH ${pageSize} FROM log`);
      events += rows.length;
      if (rows.length < pageSize) break;
    }
    await client.query('COMMIT');
    const seconds = (now() - started) / 1000;
    return { events, seconds, rate: events / seconds };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** The keyset scan of the generated log, measured once per run and shared. */
export function sharedKeysetScan(ctx: BenchContext): Promise<ScanResult> {
  return shared(ctx, 'storage.scan.keyset', async () => {
    const r = await rawKeysetScan(ctx.db.pool, ctx.config.pageSize);
    ctx.log(`raw keyset scan: ${r.events} events in ${r.seconds.toFixed(2)}s (${r.rate.toFixed(0)} events/s)`);
    return r;
  });
}
