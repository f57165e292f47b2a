/**
 * Benchmark sizes, all from the environment so a quick run is one variable away.
 * BENCH_QUICK=1 shrinks every default; an explicit variable still wins.
 */
export interface BenchConfig {
  quick: boolean;
  /** Events in the generated log that the read and rebuild figures use. */
  events: number;
  /** Measured seconds per append case, for each of engine and baseline. */
  seconds: number;
  /** Append cases as `<batch>x<writers>`, e.g. `1x1,100x8` (default: all four). */
  appendCases: { batch: number; writers: number }[];
  /** Each append case alternates baseline and engine this many times, seconds/rounds each. */
  rounds: number;
  /** Unmeasured seconds before the first round of each side of an append case. */
  warmupSeconds: number;
  /** readAll / raw scan page size. */
  pageSize: number;
  /** Events per statement when generating the log. */
  generateChunk: number;
  /** A rebuild still running after this is stopped and its rate taken over what it did. */
  rebuildMaxSeconds: number;
  /** Seconds for the informational every-event rebuild, when read models exist (0 = skip it). */
  counterSeconds: number;
  /** Check the generated log's hash chains with verifyEventLog (slow for big logs). */
  verify: boolean;
  /** Concurrent HTTP clients of the ARQ lifecycle figures, one phase each. */
  clients: number[];
  /** Concurrent HTTP clients of the lifecycle figures through `npm start` (all-in-one), one phase each. */
  startClients: number[];
  /** Measured seconds of each lifecycle phase (and of its baseline). */
  lifecycleSeconds: number;
  /** Hosts with agents (fake driver, 16 handles each) that ARQs bind on. */
  agents: number;
  /** Simulated hosts of the inventory figures, and devices per host. */
  inventoryHosts: number;
  inventoryDevices: number;
  /** Unchanged reports of every simulated host, after its first registration. */
  inventoryRounds: number;
  /** The fleet figures: simulated hosts, the processes they run in, and their agents' timers. */
  fleet: {
    hosts: number;
    workers: number;
    devices: number;
    heartbeatMs: number;
    reportMs: number;
    /** HOST_DOWN_AFTER_MS of the fleet's conductors. */
    downAfterMs: number;
    /** Measured seconds with each number of conductors. */
    seconds: number;
    /** New hosts registering at once (a rack). */
    rack: number;
  };
  /** Groups, module names or prefixes to run; empty = all. */
  only: string[];
  /** postgres maintenance database (to create and drop the bench database). */
  adminUrl: string;
  /** Keep the bench database at the end (for EXPLAIN / profiling); its name is printed. */
  keepDatabase: boolean;
  resultsPath: string;
}

function num(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw.replace(/_/g, ''));
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got "${raw}"`);
  return value;
}

function flag(name: string, fallback: boolean): boolean {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  return !['0', 'false', 'no', 'off'].includes(raw.toLowerCase());
}

function clientCounts(name: string, fallback: string): number[] {
  return (process.env[name] || fallback).split(',').map((c) => {
    const n = Number(c.trim());
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${name}: "${c}" is not a positive integer`);
    return n;
  });
}

export function loadBenchConfig(): BenchConfig {
  const quick = flag('BENCH_QUICK', false);
  return {
    quick,
    events: Math.round(num('BENCH_EVENTS', quick ? 20_000 : 1_000_000)),
    seconds: num('BENCH_SECONDS', quick ? 2 : 6),
    appendCases: (process.env.BENCH_APPEND_CASES || '1x1,1x8,100x1,100x8').split(',').map((c) => {
      const m = /^\s*(\d+)x(\d+)\s*$/.exec(c);
      if (!m) throw new Error(`BENCH_APPEND_CASES: "${c}" is not <batch>x<writers>`);
      return { batch: Number(m[1]), writers: Number(m[2]) };
    }),
    rounds: Math.round(num('BENCH_ROUNDS', quick ? 2 : 6)),
    warmupSeconds: num('BENCH_WARMUP_SECONDS', 0.5),
    pageSize: Math.round(num('BENCH_PAGE_SIZE', 1000)),
    generateChunk: Math.round(num('BENCH_GENERATE_CHUNK', 50_000)),
    rebuildMaxSeconds: num('BENCH_REBUILD_MAX_SECONDS', quick ? 30 : 180),
    counterSeconds: Number(process.env.BENCH_REBUILD_COUNTER_SECONDS ?? 0),
    verify: flag('BENCH_VERIFY', quick),
    clients: clientCounts('BENCH_CLIENTS', '1,16,64'),
    startClients: clientCounts('BENCH_START_CLIENTS', '1,8,16'),
    lifecycleSeconds: num('BENCH_LIFECYCLE_SECONDS', quick ? 3 : 10),
    agents: Math.round(num('BENCH_AGENTS', 4)),
    inventoryHosts: Math.round(num('BENCH_INVENTORY_HOSTS', quick ? 100 : 1000)),
    inventoryDevices: Math.round(num('BENCH_INVENTORY_DEVICES', 8)),
    inventoryRounds: Math.round(num('BENCH_INVENTORY_ROUNDS', quick ? 1 : 3)),
    fleet: {
      hosts: Math.round(num('BENCH_FLEET_HOSTS', quick ? 200 : 10_000)),
      workers: Math.round(num('BENCH_FLEET_WORKERS', quick ? 2 : 4)),
      devices: Math.round(num('BENCH_FLEET_DEVICES', 1)),
      heartbeatMs: Math.round(num('BENCH_FLEET_HEARTBEAT_MS', quick ? 2000 : 10_000)),
      reportMs: Math.round(num('BENCH_FLEET_REPORT_MS', quick ? 10_000 : 60_000)),
      downAfterMs: Math.round(num('BENCH_FLEET_DOWN_AFTER_MS', quick ? 5000 : 20_000)),
      seconds: num('BENCH_FLEET_SECONDS', quick ? 10 : 30),
      rack: Math.round(num('BENCH_FLEET_RACK', quick ? 10 : 40)),
    },
    only: (process.env.BENCH_ONLY ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    adminUrl:
      process.env.BENCH_ADMIN_URL ??
      process.env.TEST_DATABASE_ADMIN_URL ??
      'postgres://postgres@127.0.0.1:5432/postgres',
    keepDatabase: flag('BENCH_KEEP_DB', false),
    resultsPath: process.env.BENCH_RESULTS ?? 'bench/results.json',
  };
}
