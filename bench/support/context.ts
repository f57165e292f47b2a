import { EventStore, EventTypeRegistry } from '@cyborg/event-store';
import { type CyborgEvent, eventSchemas } from '@cyborg/contracts';
import type { BenchConfig } from './config';
import type { BenchDatabase } from './database';
import type { Figure } from './figure';

/** What every benchmark module gets. */
export interface BenchContext {
  config: BenchConfig;
  db: BenchDatabase;
  /** The event store as the services build it (same registry, same DataSource options). */
  store: EventStore<CyborgEvent>;
  /** Adds a figure to the table and to results.json. */
  record(figure: Figure): void;
  /** Values that modules share (the generated log, a measured scan) so none is measured twice. */
  shared: Map<string, unknown>;
  log(message: string): void;
  /** Runs `stop` at the end of the run (also after a failure or Ctrl-C), last registered first, before the database is dropped. */
  onCleanup(stop: () => Promise<void>): void;
}

/**
 * A group of figures. Add one by writing a module in bench/ and listing it in
 * bench/modules.ts; modules run in list order, each on the same database.
 */
export interface BenchModule {
  /** Dotted prefix of its figures, e.g. `storage.append`; BENCH_ONLY matches on it. */
  name: string;
  title: string;
  run(ctx: BenchContext): Promise<void>;
}

export function createContext(
  config: BenchConfig,
  db: BenchDatabase,
  record: (f: Figure) => void,
  onCleanup: (stop: () => Promise<void>) => void,
): BenchContext {
  const started = Date.now();
  return {
    config,
    db,
    store: new EventStore(db.dataSource, EventTypeRegistry.from(eventSchemas)),
    record,
    shared: new Map(),
    log: (message) => console.log(`  [${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${message}`),
    onCleanup,
  };
}

/** Memoises one shared value per context. */
export async function shared<T>(ctx: BenchContext, key: string, make: () => Promise<T>): Promise<T> {
  if (!ctx.shared.has(key)) ctx.shared.set(key, await make());
  return ctx.shared.get(key) as T;
}

/**
 * Memoises one shared start-up per context, its failure included: a system
 * that did not start fails every module that needs it at once, not after
 * another attempt each.
 */
export function sharedOnce<T>(ctx: BenchContext, key: string, make: () => Promise<T>): Promise<T> {
  if (!ctx.shared.has(key)) ctx.shared.set(key, make());
  return ctx.shared.get(key) as Promise<T>;
}
