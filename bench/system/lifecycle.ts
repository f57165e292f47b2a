import { randomUUID } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { type BenchContext, type BenchModule, sharedOnce } from '../support/context';
import { figure } from '../support/figure';
import { now, percentile } from '../support/timing';
import { ServiceProcess } from './service-process';
import { BenchSystem } from './system';
import { http, sleep } from './http';
import { OutsideCpu, type OutsideUsage } from './outside-cpu';
import type { ProcessUsage } from './usage';

/** The project every simulated instance belongs to; Nova acts for it with a service token. */
const PROJECT = 'bench-project';
const USER = { 'X-User-Id': 'bench-user', 'X-Project-Id': PROJECT, 'X-Roles': 'member,reader' };
const NOVA = { ...USER, 'X-Service-Roles': 'service' };
/** A bind command's size, for the baseline's request. */
const FLOOR_PAYLOAD = JSON.stringify({ commandId: randomUUID(), pad: 'x'.repeat(400) });
const WARMUP_SECONDS = 1;
/** The floor is steady: a few seconds measure it well. */
const FLOOR_SECONDS = 5;

/** What the memory figures use: every service at rest and at its largest under the heaviest load. */
export interface SystemMemory {
  rest: Map<string, ProcessUsage>;
  load: Map<string, ProcessUsage>;
  clients: number;
  /** A bare Node process with the same flags: what Node itself costs. */
  node: ProcessUsage;
}

/** What lifecycles run against: an API, a device profile, and the hosts the clients bind on. */
export interface LifecycleTarget {
  apiUrl: string;
  profile: string;
  /** Client `c` binds on `hosts[c % hosts.length]`: the host and its fake FPGA's resource provider. */
  hosts: { hostname: string; rp: string }[];
  /** CPU and statements of every Node process of the system so far, by name. */
  usage(): Promise<Map<string, ProcessUsage>>;
  /** PostgreSQL's and NATS's CPU. */
  outside: OutsideCpu;
}

export interface LifecycleSample {
  bind: number[];
  lifecycle: number[];
  lifecycles: number;
  failed: number;
  seconds: number;
  /** CPU µs of each Node process over the measured seconds. */
  cpuMicros: Map<string, number>;
  /** SQL statements of each Node process over the measured seconds. */
  statements: Map<string, number>;
  outside: OutsideUsage;
  /** Every ARQ that ended Bound, warm-up included: each must reach Nova. */
  bound: string[];
}

export interface FloorSample {
  latencies: number[];
  requests: number;
  seconds: number;
}

/**
 * ARQ lifecycles over HTTP as Nova drives them: create the ARQ, bind it to a
 * host's device (PATCH), read it resolved (nova-compute's
 * `?instance=&bind_state=resolved`, 423 until then) and delete it by
 * instance, with 1, 16 and 64 clients. The baseline, measured in the same
 * run at the same concurrency, is the floor of any bind: one NATS
 * request/reply to a process that makes one PostgreSQL commit.
 */
export const lifecycleModule: BenchModule = {
  name: 'system.lifecycle',
  title: 'ARQ lifecycle over HTTP (create → bind → Bound → delete) vs one request/reply + one commit',
  async run(ctx) {
    const { config } = ctx;
    const setup = await lifecycleSetup(ctx);
    const heaviest = Math.max(...config.clients);
    let load = new Map<string, ProcessUsage>();
    const bound: string[] = [];
    for (const clients of config.clients) {
      const base = await floorLoop(setup.nc, clients, Math.min(config.lifecycleSeconds, FLOOR_SECONDS));
      const sampling = clients === heaviest ? sampleMemory(setup.system) : null;
      const run = await lifecycles(ctx, setup, clients, config.lifecycleSeconds);
      if (sampling) load = await sampling.stop();
      record(ctx, clients, run, base, clients === heaviest);
      bound.push(...run.bound);
      await sleep(500);
    }
    recordNova(ctx, 'system.lifecycle', await setup.system.nova.missing(bound, 10_000), bound.length);
    ctx.shared.set(MEMORY_KEY, { rest: setup.rest, load, clients: heaviest, node: setup.node } satisfies SystemMemory);
  },
};

export const MEMORY_KEY = 'system.memory';

interface LifecycleSetup {
  system: BenchSystem;
  target: LifecycleTarget;
  /** A NATS connection for the baseline's requests. */
  nc: NatsConnection;
  /** Every service at rest (after a full collection), once each host has run one lifecycle. */
  rest: Map<string, ProcessUsage>;
  node: ProcessUsage;
}

/** The system with a device profile, the baseline's responder, and one lifecycle per host done; once per run. */
function lifecycleSetup(ctx: BenchContext): Promise<LifecycleSetup> {
  return sharedOnce(ctx, 'system.lifecycle.setup', async () => {
    const system = await BenchSystem.get(ctx);
    const hostnames = system.hosts.map((h) => h.hostname);
    const rps = await fakeDeviceProviders(system.apiUrl, hostnames);
    const profile = await createFpgaProfile(system.apiUrl);
    const target: LifecycleTarget = {
      apiUrl: system.apiUrl,
      profile,
      hosts: hostnames.map((hostname, i) => ({ hostname, rp: rps[i] })),
      usage: () => system.usage(),
      outside: new OutsideCpu(ctx.db.pool, ctx.db.name, system.nats.pid),
    };

    const floor = await ServiceProcess.start({
      name: 'floor',
      main: new URL('./floor-responder.js', import.meta.url),
      env: { DATABASE_URL: ctx.db.url, NATS_URL: system.nats.url },
      readyMessage: 'floor responder listening',
    });
    ctx.onCleanup(() => floor.stop());
    const nc = await connect({ servers: system.nats.url, name: 'cyborg-bench-floor-client' });
    ctx.onCleanup(() => nc.close());
    // A bare Node process with the services' flags: what Node itself costs.
    const bare = await ServiceProcess.start({
      name: 'node',
      main: new URL('./idle.js', import.meta.url),
      env: {},
      readyMessage: 'idle',
    });
    const node = await bare.usage(true);
    await bare.stop();

    // The first bind on each host pays for warm-up; it is not measured.
    await Promise.all(target.hosts.map((h) => lifecycle(system.apiUrl, profile, h.hostname, h.rp)));
    await sleep(1000);
    const rest = await atRest(system);
    return { system, target, nc, rest, node };
  });
}

/**
 * What the memory figures read: the lifecycle figures' own samples, or,
 * when they did not run, a load of the heaviest client count made for them.
 */
export async function systemMemory(ctx: BenchContext): Promise<SystemMemory> {
  const measured = ctx.shared.get(MEMORY_KEY) as SystemMemory | undefined;
  if (measured) return measured;
  const setup = await lifecycleSetup(ctx);
  const clients = Math.max(...ctx.config.clients);
  const sampling = sampleMemory(setup.system);
  await lifecycles(ctx, setup, clients, ctx.config.lifecycleSeconds);
  const memory = { rest: setup.rest, load: await sampling.stop(), clients, node: setup.node };
  ctx.shared.set(MEMORY_KEY, memory);
  return memory;
}

function record(ctx: BenchContext, clients: number, run: LifecycleSample, base: FloorSample, heaviest: boolean): void {
  const rate = run.lifecycles / run.seconds;
  const baseRate = base.requests / base.seconds;
  const p = (xs: number[], q: number) => percentile(xs, q);
  const note =
    `${clients} client${clients > 1 ? 's' : ''}, ${run.seconds.toFixed(1)}s, ${run.lifecycles} lifecycles` +
    `${run.failed ? `, ${run.failed} binds failed` : ''}; baseline ${base.requests} request/reply + commit in ` +
    `${base.seconds.toFixed(1)}s; ${costNote(run)}`;
  const prefix = `system.lifecycle.clients${clients}`;
  ctx.log(
    `${clients} clients: ${rate.toFixed(0)} lifecycles/s, bind p50/p95/p99 ${fmt(p(run.bind, 50))}/` +
      `${fmt(p(run.bind, 95))}/${fmt(p(run.bind, 99))} ms, lifecycle p99 ${fmt(p(run.lifecycle, 99))} ms; ` +
      `floor ${baseRate.toFixed(0)}/s p99 ${fmt(p(base.latencies, 99))} ms; ${note}`,
  );
  recordCost(ctx, prefix, run, {});
  for (const q of [50, 95, 99]) {
    ctx.record(
      figure({
        name: `${prefix}.bind.p${q}`,
        value: p(run.bind, q),
        unit: 'ms',
        baseline: p(base.latencies, q),
        goal: heaviest && q === 99 ? { maxValue: 25 } : undefined,
        note: q === 99 ? note : undefined,
      }),
    );
  }
  for (const q of [50, 95, 99]) {
    ctx.record(
      figure({
        name: `${prefix}.lifecycle.p${q}`,
        value: p(run.lifecycle, q),
        unit: 'ms',
        baseline: p(base.latencies, q),
      }),
    );
  }
  ctx.record(
    figure({
      name: `${prefix}.rate`,
      value: rate,
      unit: 'lifecycles/s',
      baseline: baseRate,
      baselineUnit: 'requests/s',
      goal: heaviest ? { value: 300 } : undefined,
    }),
  );
}

/** `clients` loops, each running whole lifecycles back to back on its own host: warm-up, then `seconds` measured. */
function lifecycles(
  ctx: BenchContext,
  setup: LifecycleSetup,
  clients: number,
  seconds: number,
): Promise<LifecycleSample> {
  return runLifecycles(ctx, setup.target, clients, seconds);
}

/**
 * `clients` loops against `target`, each running whole lifecycles back to
 * back on its host: warm-up, then `seconds` measured. CPU (Node processes,
 * PostgreSQL, NATS) and statements are counted over the measured seconds.
 */
export async function runLifecycles(
  ctx: BenchContext,
  target: LifecycleTarget,
  clients: number,
  seconds: number,
): Promise<LifecycleSample> {
  const { hosts } = target;
  const measureFrom = now() + WARMUP_SECONDS * 1000;
  const stopAt = measureFrom + seconds * 1000;
  const sample: LifecycleSample = {
    bind: [],
    lifecycle: [],
    lifecycles: 0,
    failed: 0,
    seconds: 0,
    cpuMicros: new Map(),
    statements: new Map(),
    outside: { postgresMicros: 0, natsMicros: 0, transactions: 0 },
    bound: [],
  };
  // CPU is counted from the end of the warm-up, as the lifecycles are.
  const before = sleep(WARMUP_SECONDS * 1000).then(() => Promise.all([target.usage(), target.outside.read()]));
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      const { hostname, rp } = hosts[c % hosts.length];
      for (;;) {
        const t0 = now();
        if (t0 >= stopAt) return;
        const result = await lifecycle(target.apiUrl, target.profile, hostname, rp);
        if (result.bound) sample.bound.push(result.arq);
        if (t0 < measureFrom) continue;
        sample.lifecycles++;
        sample.lifecycle.push(result.lifecycle);
        if (result.bound) sample.bind.push(result.bind);
        else sample.failed++;
      }
    }),
  );
  sample.seconds = (now() - measureFrom) / 1000;
  const [usageBefore, outsideBefore] = await before;
  const [usageAfter, outsideAfter] = await Promise.all([target.usage(), target.outside.read()]);
  for (const [name, usage] of usageAfter) {
    sample.cpuMicros.set(name, usage.cpuMicros - (usageBefore.get(name)?.cpuMicros ?? 0));
    sample.statements.set(name, usage.statements - (usageBefore.get(name)?.statements ?? 0));
    if (usage.statementKinds) {
      const earlier = usageBefore.get(name)?.statementKinds ?? {};
      const perLifecycle = Object.entries(usage.statementKinds)
        .map(([kind, n]) => [kind, (n - (earlier[kind] ?? 0)) / Math.max(1, sample.lifecycles)] as const)
        .filter(([, n]) => n >= 0.05)
        .sort((a, b) => b[1] - a[1]);
      ctx.log(`${name}, ${clients} clients, statements per lifecycle:`);
      for (const [kind, n] of perLifecycle) ctx.log(`  ${n.toFixed(2).padStart(6)}  ${kind}`);
    }
  }
  sample.outside = OutsideCpu.between(outsideBefore, outsideAfter);
  sample.bind.sort((a, b) => a - b);
  sample.lifecycle.sort((a, b) => a - b);
  if (sample.failed > 0) ctx.log(`${clients} clients: ${sample.failed} binds did not end Bound`);
  return sample;
}

/** `<prefix>.novaMissing`: binds that ended Bound and that Nova was not told of (within 10 s of the last). */
export function recordNova(ctx: BenchContext, prefix: string, missing: string[], bound: number): void {
  if (missing.length > 0) ctx.log(`Nova was not told of ${missing.length} of ${bound} binds, e.g. ${missing[0]}`);
  ctx.record(
    figure({
      name: `${prefix}.novaMissing`,
      value: missing.length,
      unit: 'binds',
      baseline: null,
      goal: { maxValue: 0 },
      note: `of ${bound} binds that ended Bound (warm-up included), those without an accelerator-request-bound event at Nova 10 s after the last`,
    }),
  );
}

/** CPU ms per lifecycle of all processes together and of each, and statements per lifecycle. */
export function costOf(run: LifecycleSample): {
  totalMs: number;
  nodeMs: number;
  postgresMs: number;
  natsMs: number;
  statements: number;
  transactions: number;
} {
  const n = Math.max(1, run.lifecycles);
  const nodeMicros = [...run.cpuMicros.values()].reduce((a, b) => a + b, 0);
  const { postgresMicros, natsMicros, transactions } = run.outside;
  return {
    totalMs: (nodeMicros + postgresMicros + natsMicros) / 1000 / n,
    nodeMs: nodeMicros / 1000 / n,
    postgresMs: postgresMicros / 1000 / n,
    natsMs: natsMicros / 1000 / n,
    statements: [...run.statements.values()].reduce((a, b) => a + b, 0) / n,
    transactions: transactions / n,
  };
}

/** CPU ms of each process per lifecycle and statements per lifecycle, for a figure's note. */
export function costNote(run: LifecycleSample): string {
  const n = Math.max(1, run.lifecycles);
  const cost = costOf(run);
  const perProcess = [...run.cpuMicros].map(([name, micros]) => `${name} ${(micros / 1000 / n).toFixed(2)}`).join(', ');
  const statements = [...run.statements]
    .filter(([, count]) => count > 0)
    .map(([name, count]) => `${name} ${(count / n).toFixed(1)}`)
    .join(', ');
  return (
    `CPU ms per lifecycle: ${cost.totalMs.toFixed(2)} in all = ${perProcess}, ` +
    `PostgreSQL ${cost.postgresMs.toFixed(2)}, NATS ${cost.natsMs.toFixed(2)}; ` +
    `SQL statements per lifecycle: ${cost.statements.toFixed(1)} (${statements}), ` +
    `${cost.transactions.toFixed(1)} transactions`
  );
}

/** The `.cpu` and `.statements` figures of a phase. */
export function recordCost(
  ctx: BenchContext,
  prefix: string,
  run: LifecycleSample,
  goals: { cpuMs?: number; statements?: number },
): void {
  const cost = costOf(run);
  ctx.record(
    figure({
      name: `${prefix}.cpu`,
      value: cost.totalMs,
      unit: 'ms/lifecycle',
      baseline: null,
      goal: goals.cpuMs === undefined ? undefined : { maxValue: goals.cpuMs },
      note:
        `CPU of every process per lifecycle: Node ${cost.nodeMs.toFixed(2)}, PostgreSQL (the run's backends) ` +
        `${cost.postgresMs.toFixed(2)}, NATS ${cost.natsMs.toFixed(2)}`,
    }),
  );
  ctx.record(
    figure({
      name: `${prefix}.statements`,
      value: cost.statements,
      unit: 'statements/lifecycle',
      baseline: null,
      goal: goals.statements === undefined ? undefined : { maxValue: goals.statements },
      note: `SQL statements sent by the services (every pg query); ${cost.transactions.toFixed(1)} transactions per lifecycle in pg_stat_database`,
    }),
  );
}

/** One ARQ from create to delete, as Nova does it; times in ms. */
export async function lifecycle(
  api: string,
  profile: string,
  hostname: string,
  rp: string,
): Promise<{ arq: string; bind: number; lifecycle: number; bound: boolean }> {
  const t0 = now();
  const created = await http<{ arqs: { uuid: string }[] }>(api, 'POST', '/v2/accelerator_requests', {
    json: { device_profile_name: profile },
    headers: USER,
  });
  if (created.status !== 201) throw new Error(`create ARQ: ${created.status} ${created.text}`);
  const arq = created.body.arqs[0].uuid;
  const instance = randomUUID();
  const t1 = now();
  const patched = await http(api, 'PATCH', '/v2/accelerator_requests', {
    json: {
      [arq]: [
        { path: '/hostname', op: 'add', value: hostname },
        { path: '/device_rp_uuid', op: 'add', value: rp },
        { path: '/instance_uuid', op: 'add', value: instance },
      ],
    },
    headers: NOVA,
  });
  let bound = false;
  if (patched.status === 202) {
    // nova-compute's read: 423 until every ARQ of the instance has resolved.
    for (;;) {
      const resolved = await http<{ arqs: { state: string }[] }>(
        api,
        'GET',
        `/v2/accelerator_requests?instance=${instance}&bind_state=resolved`,
        { headers: USER },
      );
      if (resolved.status === 200) {
        bound = resolved.body.arqs[0]?.state === 'Bound';
        break;
      }
      if (resolved.status !== 423) throw new Error(`resolved ARQs: ${resolved.status} ${resolved.text}`);
      await sleep(2);
    }
  }
  const t2 = now();
  const deleted = await http(api, 'DELETE', `/v2/accelerator_requests?instance=${instance}`, { headers: NOVA });
  if (deleted.status !== 204) throw new Error(`delete ARQ: ${deleted.status} ${deleted.text}`);
  return { arq, bind: t2 - t1, lifecycle: now() - t0, bound };
}

/** The baseline: `clients` loops of one request/reply whose answer waits for one commit. */
async function floorLoop(nc: NatsConnection, clients: number, seconds: number): Promise<FloorSample> {
  const measureFrom = now() + WARMUP_SECONDS * 1000;
  const stopAt = measureFrom + seconds * 1000;
  const latencies: number[] = [];
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (;;) {
        const t0 = now();
        if (t0 >= stopAt) return;
        const reply = await nc.request('bench.floor', FLOOR_PAYLOAD, { timeout: 10_000 });
        const body = reply.json<{ error?: string }>();
        if (body.error) throw new Error(`floor responder: ${body.error}`);
        if (t0 >= measureFrom) latencies.push(now() - t0);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return { latencies, requests: latencies.length, seconds: (now() - measureFrom) / 1000 };
}

/**
 * Each service at rest: a full collection, then the smallest RSS and heap of
 * samples over 3 s (V8 gives freed pages back to the system a while after a
 * collection, so RSS right after one overstates it).
 */
async function atRest(system: BenchSystem): Promise<Map<string, ProcessUsage>> {
  const least = await system.usage(true);
  for (let i = 0; i < 12; i++) {
    await sleep(250);
    for (const [name, usage] of await system.usage()) {
      const min = least.get(name)!;
      least.set(name, { ...min, rss: Math.min(min.rss, usage.rss), heapUsed: Math.min(min.heapUsed, usage.heapUsed) });
    }
  }
  return least;
}

/** Each service's largest RSS and heap while it runs, sampled every 250 ms. */
function sampleMemory(system: BenchSystem): { stop(): Promise<Map<string, ProcessUsage>> } {
  const peak = new Map<string, ProcessUsage>();
  let running = true;
  const loop = (async () => {
    while (running) {
      for (const [name, usage] of await system.usage()) {
        const max = peak.get(name);
        peak.set(name, {
          ...usage,
          rss: Math.max(usage.rss, max?.rss ?? 0),
          heapUsed: Math.max(usage.heapUsed, max?.heapUsed ?? 0),
          heapTotal: Math.max(usage.heapTotal, max?.heapTotal ?? 0),
        });
      }
      await sleep(250);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return peak;
    },
  };
}

/** A device profile of one fake FPGA, as the lifecycles ask for it. */
export async function createFpgaProfile(apiUrl: string): Promise<string> {
  const profile = `bench-fpga-${randomUUID().slice(0, 8)}`;
  const created = await http(apiUrl, 'POST', '/v2/device_profiles', {
    json: [{ name: profile, groups: [{ 'resources:FPGA': '1', 'trait:CUSTOM_FAKE_DEVICE': 'required' }] }],
  });
  if (created.status !== 201) throw new Error(`device profile: ${created.status} ${created.text}`);
  return profile;
}

/** The fake FPGA deployable's resource provider on each host, once the API shows it. */
export async function fakeDeviceProviders(apiUrl: string, hostnames: readonly string[]): Promise<string[]> {
  const deadline = Date.now() + 60_000;
  return Promise.all(
    hostnames.map(async (hostname) => {
      const name = `${hostname.replace(/[^A-Za-z0-9_\-\n]/gu, '_')}_FakeDevice`;
      for (;;) {
        const { body } = await http<{ deployables: { rp_uuid: string }[] }>(
          apiUrl,
          'GET',
          `/v2/deployables?filters.field=name&filters.value=${name}`,
        );
        if (body?.deployables?.length) return body.deployables[0].rp_uuid;
        if (Date.now() > deadline) throw new Error(`host ${hostname}: no deployable ${name} within 60 s`);
        await sleep(100);
      }
    }),
  );
}

export const fmt = (ms: number) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(1));
