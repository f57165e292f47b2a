import { randomBytes, randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { BenchContext, BenchModule } from '../support/context';
import { figure } from '../support/figure';
import { type ClosedLoopResult, closedLoop, percentile } from '../support/timing';
import { hostRegistered, jsonBytes, requestMetadata } from './payloads';

/** Streams each writer owns and appends to in turn. */
const STREAMS_PER_WRITER = 4;

/**
 * Figure 1: EventStore.append throughput against a raw pg INSERT of the same
 * rows into a table of the same shape (columns, defaults, indexes) with no
 * triggers, no streams table and no hash chain.
 */
export const appendModule: BenchModule = {
  name: 'storage.append',
  title: 'Append throughput: EventStore.append vs raw INSERT',
  async run(ctx) {
    const { db, config } = ctx;
    await db.resetSchema();
    await db.pool.query(`CREATE TABLE bench_raw_events (LIKE events INCLUDING ALL)`);
    // An autovacuum starting inside one 4-second window and not the other is noise, not a figure.
    for (const table of ['events', 'streams', 'bench_raw_events']) {
      await db.pool.query(`ALTER TABLE ${table} SET (autovacuum_enabled = false)`);
    }
    const sample = hostRegistered('compute-w0-s0.bench.example', 1);
    const sizes = `data ${jsonBytes(sample.data)} B, metadata ${jsonBytes(requestMetadata())} B per event`;

    for (const c of config.appendCases) {
      const label = `batch ${c.batch}, ${c.writers} writer${c.writers > 1 ? 's' : ''}`;
      const tag = `${randomBytes(3).toString('hex')}`;
      const raw = await rawWriters(db.pool, c.writers, c.batch, tag);
      const store = storeWriters(ctx, c.writers, c.batch, tag);
      // Alternate baseline and engine in rounds so drift (WAL, cache, the VM's neighbours) hits both alike.
      const rawRuns: ClosedLoopResult[] = [];
      const storeRuns: ClosedLoopResult[] = [];
      const slice = config.seconds / config.rounds;
      try {
        for (let round = 0; round < config.rounds; round++) {
          await db.pool.query('CHECKPOINT');
          rawRuns.push(await closedLoop(c.writers, round === 0 ? config.warmupSeconds : 0, slice, raw.op));
          await db.pool.query('CHECKPOINT');
          storeRuns.push(await closedLoop(c.writers, round === 0 ? config.warmupSeconds : 0, slice, store.op));
        }
      } finally {
        raw.release();
      }
      const rawAll = combine(rawRuns);
      const storeAll = combine(storeRuns);
      const rounds = storeRuns.map((r, i) => `${rate(rawRuns[i]).toFixed(0)}/${rate(r).toFixed(0)}`).join(', ');
      ctx.log(
        `${label}: raw INSERT ${rate(rawAll).toFixed(0)} events/s, EventStore.append ${rate(storeAll).toFixed(0)} events/s` +
          ` (rounds raw/append: ${rounds})`,
      );
      ctx.record(
        figure({
          name: `storage.append.batch${c.batch}.writers${c.writers}`,
          value: rate(storeAll),
          unit: 'events/s',
          baseline: rate(rawAll),
          goal: { ratio: 0.5 },
          note:
            `${label}, ${config.seconds}s each in ${config.rounds} alternating rounds; latency p50/p99 append ` +
            `${ms(storeAll, 50)}/${ms(storeAll, 99)} ms vs raw ${ms(rawAll, 50)}/${ms(rawAll, 99)} ms; ${sizes}; ` +
            `events/s per round raw/append: ${rounds}`,
        }),
      );
    }
  },
};

function combine(runs: ClosedLoopResult[]): ClosedLoopResult {
  return {
    ops: runs.reduce((s, r) => s + r.ops, 0),
    units: runs.reduce((s, r) => s + r.units, 0),
    seconds: runs.reduce((s, r) => s + r.seconds, 0),
    latencies: runs.flatMap((r) => r.latencies).sort((a, b) => a - b),
  };
}

function rate(r: ClosedLoopResult): number {
  return r.units / r.seconds;
}

function ms(r: ClosedLoopResult, p: number): string {
  const v = percentile(r.latencies, p);
  return v < 10 ? v.toFixed(2) : v.toFixed(1);
}

interface Writers {
  op(worker: number): Promise<number>;
  release(): void;
}

function ownStreams(writers: number, tag: string) {
  return Array.from({ length: writers }, (_, w) =>
    Array.from({ length: STREAMS_PER_WRITER }, (_, s) => ({
      id: `host-compute-${tag}-w${w}-s${s}.bench.example`,
      host: `compute-${tag}-w${w}-s${s}.bench.example`,
      version: 0,
    })),
  );
}

/** Each writer appends batches to its own streams, with the version it last wrote as expected version. */
function storeWriters(ctx: BenchContext, writers: number, batch: number, tag: string): Writers {
  const streams = ownStreams(writers, tag);
  const turn = new Array<number>(writers).fill(0);
  return {
    async op(w) {
      const stream = streams[w][turn[w]++ % STREAMS_PER_WRITER];
      const events = Array.from({ length: batch }, (_, i) => hostRegistered(stream.host, stream.version + i + 1));
      const result = await ctx.store.append(
        [{ streamId: stream.id, expectedVersion: stream.version, events }],
        requestMetadata(),
      );
      stream.version = result.versions[stream.id];
      return batch;
    },
    release() {},
  };
}

/**
 * The baseline: the same rows (same columns and payloads, a 64-hex hash and
 * previous hash) in one INSERT statement per batch, i.e. one transaction per
 * batch, on a connection of its own per writer.
 */
async function rawWriters(pool: pg.Pool, writers: number, batch: number, tag: string): Promise<Writers> {
  const clients: pg.PoolClient[] = [];
  for (let w = 0; w < writers; w++) clients.push(await pool.connect());
  const hash = randomBytes(32).toString('hex');
  const streams = ownStreams(writers, tag);
  const turn = new Array<number>(writers).fill(0);
  return {
    async op(w) {
      const client = clients[w];
      const stream = streams[w][turn[w]++ % STREAMS_PER_WRITER];
      const metadata = JSON.stringify(requestMetadata());
      const cols: unknown[][] = [[], [], [], [], [], [], [], [], [], []];
      for (let i = 0; i < batch; i++) {
        const event = hostRegistered(stream.host, stream.version + i + 1);
        const row = [
          randomUUID(),
          stream.id,
          'host',
          stream.version + i + 1,
          event.type,
          1,
          JSON.stringify(event.data),
          metadata,
          hash,
          hash,
        ];
        row.forEach((v, c) => cols[c].push(v));
      }
      await client.query(
        `INSERT INTO bench_raw_events (event_id, stream_id, category, version, type, schema_version,
                                       data, metadata, prev_hash, hash, occurred_at)
         SELECT e.*, $11::timestamptz FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bigint[],
           $5::text[], $6::int[], $7::jsonb[], $8::jsonb[], $9::text[], $10::text[]) AS e`,
        [...cols, new Date().toISOString()],
      );
      stream.version += batch;
      return batch;
    },
    release() {
      for (const c of clients) c.release();
    },
  };
}
