import 'reflect-metadata';
import os from 'node:os';
import pg from 'pg';
import { selectModules } from './modules';
import { loadBenchConfig } from './support/config';
import { createContext } from './support/context';
import { type BenchDatabase, createBenchDatabase } from './support/database';
import { describeMachine } from './support/machine';
import { type BenchResults, printMachine, printTable, writeResults } from './support/report';

/**
 * `npm run bench`: storage and whole-system figures against the real
 * PostgreSQL and NATS, each beside a baseline measured in the same run.
 * Prints a table; writes bench/results.json. Not a test: it asserts nothing.
 */
async function main(): Promise<number> {
  const config = loadBenchConfig();
  const started = Date.now();
  const { adminUrl: _adminUrl, ...shownConfig } = config;
  const results: BenchResults = {
    startedAt: new Date(started).toISOString(),
    finishedAt: null,
    durationSeconds: null,
    loadAverageAtEnd: null,
    config: shownConfig,
    machine: null,
    database: null,
    figures: [],
    errors: [],
  };
  const modules = selectModules(config.only);
  // A run of some modules only replaces their figures in the file, not the others'.
  const partial = config.only.length > 0 ? modules.map((m) => m.name) : null;
  const save = () => writeResults(config.resultsPath, results, partial);

  const probe = new pg.Pool({ connectionString: config.adminUrl, max: 1 });
  try {
    results.machine = await describeMachine(probe);
  } finally {
    await probe.end();
  }
  console.log(`cyborg bench${config.quick ? ' (quick)' : ''}: ${modules.map((m) => m.name).join(', ')}`);
  printMachine(results.machine);
  console.log(
    `sizes:      BENCH_EVENTS=${config.events} BENCH_SECONDS=${config.seconds} BENCH_PAGE_SIZE=${config.pageSize}` +
      ` BENCH_REBUILD_MAX_SECONDS=${config.rebuildMaxSeconds}`,
  );

  let db: BenchDatabase | null = null;
  const cleanups: (() => Promise<void>)[] = [];
  const cleanUp = async () => {
    // Services and servers a module started go first: they hold sessions on the database.
    for (const stop of cleanups.splice(0).reverse()) {
      await stop().catch((error: unknown) => console.error(`  cleanup failed: ${String(error)}`));
    }
    if (db && !config.keepDatabase) await db.drop();
  };
  const onSignal = (signal: NodeJS.Signals) => {
    // Stopping: sessions that the drop ends may still report errors; they change nothing now.
    process.on('uncaughtException', () => undefined);
    console.error(`\n${signal}: dropping ${db?.name ?? 'nothing'} and stopping`);
    cleanUp().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    db = await createBenchDatabase(config.adminUrl);
    results.database = db.name;
    console.log(`database:   ${db.name}${config.keepDatabase ? ' (kept: BENCH_KEEP_DB)' : ''}\n`);
    const ctx = createContext(
      config,
      db,
      (f) => {
        results.figures.push(f);
        save();
      },
      (stop) => cleanups.push(stop),
    );
    for (const m of modules) {
      console.log(`${m.name}: ${m.title}`);
      const t0 = Date.now();
      try {
        await m.run(ctx);
        ctx.log(`${m.name} done in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
      } catch (error) {
        const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
        console.error(`  ${m.name} FAILED: ${message}`);
        results.errors.push({ module: m.name, message: error instanceof Error ? error.message : String(error) });
        save();
      }
    }
  } finally {
    await cleanUp();
  }

  results.finishedAt = new Date().toISOString();
  results.durationSeconds = Math.round((Date.now() - started) / 100) / 10;
  results.loadAverageAtEnd = Math.round(os.loadavg()[0] * 100) / 100;
  save();
  console.log('');
  printTable(results.figures);
  console.log(`\n${results.figures.length} figures in ${results.durationSeconds}s; written to ${config.resultsPath}`);
  if (results.errors.length)
    console.error(`${results.errors.length} module(s) failed: ${results.errors.map((e) => e.module).join(', ')}`);
  return results.errors.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
