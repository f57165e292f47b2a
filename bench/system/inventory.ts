import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { BenchContext, BenchModule } from '../support/context';
import { figure } from '../support/figure';
import { now } from '../support/timing';
import { SimulatedAgent, simulatedSnapshot, writeGpuServerFile } from './hosts';
import { sleep } from './http';
import type { ServiceProcess } from './service-process';
import { BenchSystem } from './system';

/** Reports in flight at once, as many agents reporting on their own timers would be. */
const CONCURRENCY = 8;

/**
 * Inventory at scale: simulated hosts of whole GPUs (libs/drivers' simulated
 * driver, reported as apps/agent reports) register and report to the
 * conductor over NATS, then report again unchanged, as every agent does each
 * AGENT_REPORT_INTERVAL_MS. Measured: the conductor process's CPU (the
 * bench's usage probe in it) and the events appended. No baseline; the goal
 * is an unchanged report for at most 1 ms of conductor CPU and no event.
 */
export const inventoryModule: BenchModule = {
  name: 'system.inventory',
  title: 'Inventory: first registration, then unchanged reports (conductor CPU, events)',
  async run(ctx) {
    const system = await BenchSystem.get(ctx);
    const { inventoryHosts: hosts, inventoryDevices: devices, inventoryRounds: rounds } = ctx.config;
    const conductor = system.service('conductor');
    const file = join(system.dir, `gpu-server-${devices}.yaml`);
    await writeGpuServerFile(file, devices);
    const tag = randomBytes(2).toString('hex');
    const agents = Array.from({ length: hosts }, (_, i) => new SimulatedAgent(system.rpc, `bench-${tag}-gpu-${i}`));
    const snapshots = await Promise.all(agents.map((a) => simulatedSnapshot(a.hostname, file)));
    const label = `${hosts} hosts × ${devices} devices`;

    await quiet(ctx, conductor);
    const events0 = await eventCount(ctx);
    const first = await measured(conductor, () =>
      each(agents, async (agent, i) => {
        await agent.register(['simulated']);
        const result = await agent.report(snapshots[i]);
        if (!result.changed) throw new Error(`first report of ${agent.hostname} changed nothing`);
      }),
    );
    const events1 = await eventCount(ctx);
    ctx.log(
      `first registration, ${label}: ${first.seconds.toFixed(1)}s, ${(hosts / first.seconds).toFixed(0)} hosts/s, ` +
        `conductor CPU ${(first.cpuMs / hosts).toFixed(2)} ms per host, ${(events1 - events0) / hosts} events per host`,
    );

    // The relay, projections and placement-sync work through the new events first: only reports are measured.
    const idle = await quiet(ctx, conductor);
    const reports = hosts * rounds;
    const unchanged = await measured(conductor, async () => {
      for (let round = 0; round < rounds; round++) {
        await each(agents, async (agent, i) => {
          const result = await agent.report(snapshots[i]);
          if (result.changed) throw new Error(`unchanged report of ${agent.hostname} changed the host`);
        });
      }
    });
    const events2 = await eventCount(ctx);
    const idleShare = idle * unchanged.seconds;
    ctx.log(
      `unchanged reports: ${reports} in ${unchanged.seconds.toFixed(1)}s, conductor CPU ` +
        `${(unchanged.cpuMs / reports).toFixed(3)} ms per report (idle conductor: ${idle.toFixed(1)} ms/s), ` +
        `${events2 - events1} events`,
    );

    ctx.record(
      figure({
        name: 'system.inventory.firstRegistration.cpu',
        value: first.cpuMs / hosts,
        unit: 'ms/host',
        baseline: null,
        note:
          `${label}: register_host + the first report_inventory per host, ${CONCURRENCY} at a time, ` +
          `${first.seconds.toFixed(1)}s (${(hosts / first.seconds).toFixed(0)} hosts/s); conductor process CPU`,
      }),
    );
    ctx.record(
      figure({
        name: 'system.inventory.firstRegistration.events',
        value: (events1 - events0) / hosts,
        unit: 'events/host',
        baseline: null,
      }),
    );
    ctx.record(
      figure({
        name: 'system.inventory.unchangedReport.cpu',
        value: unchanged.cpuMs / reports,
        unit: 'ms/report',
        baseline: null,
        goal: { maxValue: 1 },
        note:
          `${reports} unchanged full reports (${rounds} per host, ${CONCURRENCY} at a time) in ` +
          `${unchanged.seconds.toFixed(1)}s; conductor process CPU, including ${(idleShare / reports).toFixed(3)} ms ` +
          `per report that an idle conductor spends over the same time (timers, polling)`,
      }),
    );
    ctx.record(
      figure({
        name: 'system.inventory.unchangedReport.events',
        value: (events2 - events1) / reports,
        unit: 'events/report',
        baseline: null,
        goal: { maxValue: 0 },
      }),
    );
  },
};

/** Runs `work` and returns the wall time and the conductor's CPU time it took. */
async function measured(
  conductor: ServiceProcess,
  work: () => Promise<unknown>,
): Promise<{ seconds: number; cpuMs: number }> {
  const before = await conductor.usage();
  const t0 = now();
  await work();
  const seconds = (now() - t0) / 1000;
  const after = await conductor.usage();
  return { seconds, cpuMs: (after.cpuMicros - before.cpuMicros) / 1000 };
}

/** Waits until the conductor uses under 5% of a core over half a second; returns its CPU ms per second then. */
async function quiet(ctx: BenchContext, conductor: ServiceProcess): Promise<number> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const { cpuMs } = await measured(conductor, () => sleep(500));
    if (cpuMs < 25) return cpuMs * 2;
    if (Date.now() > deadline) {
      ctx.log(`the conductor is still busy (${(cpuMs * 2).toFixed(0)} ms/s of CPU); measuring anyway`);
      return cpuMs * 2;
    }
  }
}

async function eventCount(ctx: BenchContext): Promise<number> {
  const { rows } = await ctx.db.pool.query(`SELECT count(*)::int AS n FROM events`);
  return rows[0].n;
}

/** `work` for every item, CONCURRENCY at a time. */
async function each<T>(items: T[], work: (item: T, index: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await work(items[i], i);
      }
    }),
  );
}
