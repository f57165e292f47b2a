import { type Checkpoint, LOG_START } from '@cyborg/event-store';
import type { BenchModule } from '../support/context';
import { figure } from '../support/figure';
import { now } from '../support/timing';
import { generatedLog } from './generate-log';
import { rawCursorScan, rawKeysetScan, type ScanResult } from './scan';

/** Keyset scans and readAll passes alternate this many times each (raw first, then engine first, ...). */
const ROUNDS = 2;

/**
 * Figure 2: the gap-free read of the whole log through EventStore.readAll
 * (xid8 order below the snapshot's xmin, upcast into RecordedEvents) against
 * a raw pg scan of the same rows: keyset on position (the goal's baseline),
 * interleaved with the engine's passes so drift hits both alike, and one
 * server-side cursor (for information).
 */
export const readAllModule: BenchModule = {
  name: 'storage.readAll',
  title: 'Gap-free readAll of the whole log vs raw SELECT scan',
  async run(ctx) {
    const { config, db, store } = ctx;
    const log = await generatedLog(ctx);
    await db.pool.query(`SELECT count(*) FROM events`); // the heap into the OS cache for every reader alike

    const engine = async (): Promise<ScanResult> => {
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
      return { events, seconds, rate: events / seconds };
    };
    const raws: ScanResult[] = [];
    const engines: ScanResult[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      if (round % 2 === 0) {
        raws.push(await rawKeysetScan(db.pool, config.pageSize));
        engines.push(await engine());
      } else {
        engines.push(await engine());
        raws.push(await rawKeysetScan(db.pool, config.pageSize));
      }
    }
    const total = (runs: ScanResult[]): ScanResult => {
      const events = runs.reduce((n, r) => n + r.events, 0);
      const seconds = runs.reduce((n, r) => n + r.seconds, 0);
      return { events, seconds, rate: events / seconds };
    };
    const keyset = total(raws);
    const read = total(engines);
    // The rebuild's baseline is the same scan: measured here, it is not measured again.
    if (!ctx.shared.has('storage.scan.keyset')) ctx.shared.set('storage.scan.keyset', keyset);
    const rounds = raws.map((r, i) => `${r.rate.toFixed(0)}/${engines[i].rate.toFixed(0)}`).join(', ');
    const readAll = read.rate;
    const seconds = read.seconds;
    const events = log.events;
    ctx.log(
      `readAll: ${events} events ${ROUNDS} times in ${seconds.toFixed(2)}s (${readAll.toFixed(0)} events/s); ` +
        `raw keyset ${keyset.rate.toFixed(0)} events/s; rounds raw/readAll: ${rounds}`,
    );

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
        note:
          `${log.events} events, pages of ${config.pageSize}, ${ROUNDS} alternating rounds of each; baseline: raw ` +
          `keyset SELECT on position (${keyset.seconds.toFixed(1)}s in all); events/s per round raw/readAll: ${rounds}`,
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
