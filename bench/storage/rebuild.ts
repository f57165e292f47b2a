import type { RecordedEvent } from '@cyborg/event-store';
import { type Projection, Projections, type RebuildProgress, readModelProjections } from '@cyborg/projections';
import type { EntityManager } from 'typeorm';
import type { BenchContext, BenchModule } from '../support/context';
import { figure } from '../support/figure';
import { now } from '../support/timing';
import { generatedLog } from './generate-log';
import { sharedKeysetScan } from './scan';

class RebuildStopped extends Error {}

/**
 * Stands in for the read models while libs/projections has none: one upsert
 * per event into a per-stream counter table, applied the way a projection
 * applies (in the batch's transaction, with its checkpoint).
 */
function streamCounter(eventTypes: string[]): Projection {
  return {
    name: 'bench_stream_counts',
    eventTypes,
    tables: ['bench_stream_counts'],
    async apply(event: RecordedEvent, tx: EntityManager) {
      await tx.query(
        `INSERT INTO bench_stream_counts (stream_id, category, events, last_version, last_type, last_position)
         VALUES ($1, $2, 1, $3, $4, $5)
         ON CONFLICT (stream_id) DO UPDATE SET events = bench_stream_counts.events + 1,
           last_version = excluded.last_version, last_type = excluded.last_type, last_position = excluded.last_position`,
        [event.streamId, event.category, event.version, event.type, event.position],
      );
    },
  };
}

/** Log events per read and per transaction of the rebuild (BENCH_REBUILD_BATCH); the library's default otherwise. */
function rebuildBatchSize(): number | undefined {
  const raw = process.env.BENCH_REBUILD_BATCH;
  if (!raw) return undefined;
  const n = Number(raw.replace(/_/g, ''));
  if (!Number.isInteger(n) || n <= 0) throw new Error(`BENCH_REBUILD_BATCH must be a positive integer, got "${raw}"`);
  return n;
}

interface RebuildRun {
  /** Log events the rebuild got through (read once for every projection). */
  through: number;
  seconds: number;
  stopped: boolean;
  /** Events each projection applied, by name. */
  applied: Record<string, number>;
  /** Seconds spent in each phase of the rebuild. */
  phases: Record<string, number>;
  swapMs: number | null;
}

/** The blue/green rebuild of every projection in one shared pass, as the CLI runs it; stops at `maxSeconds`. */
async function rebuildAll(
  ctx: BenchContext,
  projections: readonly Projection[],
  maxSeconds: number,
): Promise<RebuildRun> {
  const { db, store } = ctx;
  const deadline = now() + maxSeconds * 1000;
  const guard = () => {
    if (now() > deadline) throw new RebuildStopped();
  };
  const guarded: Projection[] = projections.map((p) => ({
    ...p,
    apply(event, tx) {
      guard();
      return p.apply(event, tx);
    },
    applyBatch: p.applyBatch
      ? (events, tx) => {
          guard();
          return p.applyBatch!(events, tx);
        }
      : undefined,
  }));
  const runner = new Projections(guarded, store, { dataSource: db.dataSource, databaseUrl: db.url });
  await db.pool.query('CHECKPOINT');

  const started = now();
  const phases: Record<string, number> = {};
  let phase = 'preparing';
  let phaseStarted = started;
  let through = 0;
  const onProgress = (p: RebuildProgress) => {
    through = p.eventsRead;
    if (p.phase === phase) return;
    phases[phase] = (phases[phase] ?? 0) + (now() - phaseStarted) / 1000;
    phase = p.phase;
    phaseStarted = now();
  };
  let stopped = false;
  let applied: Record<string, number> = {};
  let swapMs: number | null = null;
  try {
    const result = await runner.rebuild(undefined, { onProgress, batchSize: rebuildBatchSize() });
    through = result.eventsRead;
    applied = result.eventsApplied;
    swapMs = result.swapMs;
  } catch (error) {
    if (!(error instanceof RebuildStopped)) throw error;
    stopped = true;
  }
  return { through, seconds: (now() - started) / 1000, stopped, applied, phases, swapMs };
}

/**
 * Figure 3: rebuild every read model from the generated log, events/s,
 * beside the raw keyset scan of the same events: the blue/green rebuild
 * (`Projections.rebuild()`, what `projections rebuild` runs) reads the log
 * once for all read models, so events/s is N / the time from start to swap.
 * Also, for information: a bench-only projection that applies every event
 * (one upsert each), i.e. the cost per applied event when read models cover
 * the whole log.
 */
export const rebuildModule: BenchModule = {
  name: 'storage.rebuild',
  title: 'Projection rebuild of all read models',
  async run(ctx) {
    const { config, db } = ctx;
    const log = await generatedLog(ctx);
    const scan = await sharedKeysetScan(ctx);
    const mix = Object.entries(log.byType)
      .map(([t, n]) => `${t} ${n}`)
      .join(', ');
    await db.pool.query(`CREATE TABLE IF NOT EXISTS bench_stream_counts (
      stream_id text PRIMARY KEY, category text NOT NULL, events int NOT NULL,
      last_version bigint NOT NULL, last_type text NOT NULL, last_position bigint NOT NULL)`);
    const counter = streamCounter(Object.keys(log.byType));

    const standIn = readModelProjections.length === 0;
    const projections = standIn ? [counter] : readModelProjections;
    const handled = projections.map((p) => p.eventTypes.reduce((s, t) => s + (log.byType[t] ?? 0), 0));
    const all = await rebuildAll(ctx, projections, config.rebuildMaxSeconds);
    const rate = all.through / all.seconds;
    ctx.log(
      `rebuild of ${projections.map((p) => p.name).join(', ')}: ${all.through} log events in ${all.seconds.toFixed(1)}s` +
        ` (${rate.toFixed(0)} events/s)${all.stopped ? ' — stopped at the time limit' : ''}`,
    );
    ctx.record(
      figure({
        name: 'storage.rebuild',
        value: rate,
        unit: 'events/s',
        baseline: scan.rate,
        goal: { value: 20_000, ratio: 0.25 },
        note:
          (standIn
            ? 'no read model exists yet: bench-only projection upserting a per-stream counter (bench_stream_counts), 1 query per event'
            : `read models: ${projections
                .map((p, i) => `${p.name} (applies ${all.applied[p.name] ?? handled[i]} events)`)
                .join(', ')}, one shared pass; phases: ${Object.entries(all.phases)
                .map(([phase, s]) => `${phase} ${s.toFixed(1)}s`)
                .join(', ')}${all.swapMs === null ? '' : `; swap held the tables ${all.swapMs} ms`}`) +
          `; log of ${log.events} events (${mix})` +
          (all.stopped
            ? `; STOPPED after ${config.rebuildMaxSeconds}s (BENCH_REBUILD_MAX_SECONDS) at ${all.through} events: rate over those`
            : `; ${all.seconds.toFixed(1)}s`) +
          '; baseline: raw keyset scan of the same log',
      }),
    );

    if (!standIn && config.counterSeconds > 0) {
      const c = await rebuildAll(ctx, [counter], config.counterSeconds);
      const r = c.through / c.seconds;
      ctx.log(
        `rebuild of the every-event counter: ${c.through} events in ${c.seconds.toFixed(1)}s (${r.toFixed(0)} events/s)`,
      );
      ctx.record(
        figure({
          name: 'storage.rebuild.everyEvent',
          value: r,
          unit: 'events/s',
          baseline: scan.rate,
          note:
            'bench-only projection applying every event (one upsert per event into bench_stream_counts); no goal' +
            (c.stopped
              ? `; over the first ${c.through} events (BENCH_REBUILD_COUNTER_SECONDS=${config.counterSeconds})`
              : ''),
        }),
      );
    }
  },
};
