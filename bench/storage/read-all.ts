import { type Checkpoint, LOG_START } from '@cyborg/event-store';
import type { BenchModule } from '../support/context';
import { figure } from '../support/figure';
import { now } from '../support/timing';
import { generatedLog } from './generate-log';
import { rawCursorScan, sharedKeysetScan } from './scan';

/**
 * Figure 2: the gap-free read of the whole log through EventStore.readAll
 * (xid8 order below the snapshot's xmin, upcast into RecordedEvents) against
 * a raw pg scan of the same rows: keyset on position (the goal's baseline)
 * and one server-side cursor (for information).
 */
export const readAllModule: BenchModule = {
  name: 'storage.readAll',
  title: 'Gap-free readAll of the whole log vs raw SELECT scan',
  async run(ctx) {
    const { config, db, store } = ctx;
    const log = await generatedLog(ctx);
    await db.pool.query(`SELECT count(*) FROM events`); // the heap into the OS cache for every reader alike

    const keyset = await sharedKeysetScan(ctx);

    const started = now();
    let after: Checkpoint = LOG_START;
    let events = 0;
    for (;;) {
      const page = await store.readAll({ after, limit: config.pageSize });
      events += page.events.length;
      after = page.checkpoint;
      if (page.events.length < config.pageSize) break;
    }
    const seconds = (now() - started) / 1000;
    if (events !== log.events) throw new Error(`readAll returned ${events} events, the log holds ${log.events}`);
    const readAll = events / seconds;
    ctx.log(`readAll: ${events} events in ${seconds.toFixed(2)}s (${readAll.toFixed(0)} events/s)`);

    const cursor = await rawCursorScan(db.pool, config.pageSize);
    ctx.log(
      `raw cursor scan: ${cursor.events} events in ${cursor.seconds.toFixed(2)}s (${cursor.rate.toFixed(0)} events/s)`,
    );

    ctx.record(
      figure({
        name: `storage.readAll.page${config.pageSize}`,
        value: readAll,
        unit: 'events/s',
        baseline: keyset.rate,
        goal: { ratio: 0.5 },
        note: `${log.events} events, pages of ${config.pageSize}; baseline: raw keyset SELECT on position (${keyset.seconds.toFixed(1)}s)`,
      }),
    );
    ctx.record(
      figure({
        name: `storage.readAll.page${config.pageSize}.vsCursor`,
        value: readAll,
        unit: 'events/s',
        baseline: cursor.rate,
        note: `baseline: one server-side cursor in log order, FETCH ${config.pageSize} (${cursor.seconds.toFixed(1)}s); no goal`,
      }),
    );
  },
};
