import { randomBytes } from 'node:crypto';
import type { BenchModule } from '../support/context';
import { figure } from '../support/figure';
import { percentile } from '../support/timing';
import { sleep } from './http';
import {
  costNote,
  createFpgaProfile,
  fakeDeviceProviders,
  lifecycle,
  type LifecycleTarget,
  recordCost,
  recordNova,
  runLifecycles,
} from './lifecycle';
import { BenchNatsServer } from './nats-server';
import { BenchNova } from './nova-server';
import { OutsideCpu } from './outside-cpu';
import { BenchPlacement } from './placement-server';
import { freePort } from './ports';
import { ServiceProcess } from './service-process';
import { appMain, profileFlags } from './system';

/** The issue's goals for `npm start`, by client count. */
const GOALS: Record<number, { rate?: number; bindP99?: number; cpuMs?: number }> = {
  1: { cpuMs: 10 },
  8: { rate: 200, bindP99: 25 },
  16: { cpuMs: 5 },
};
const STATEMENTS_GOAL = 15;

/**
 * ARQ lifecycles through `npm start`: conductor, API, placement-sync and one
 * host's agent (fake driver, 16 handles) in one process, as one machine runs
 * it, on the run's database, a nats-server of its own, a real Placement and
 * a Nova that counts its notifications. CPU per lifecycle counts the
 * process, PostgreSQL's backends of the run's database and the nats-server;
 * statements are every `pg` query the process sends. Stopped at the end of
 * the module, so the multi-process system that follows has the machine.
 */
export const allInOneModule: BenchModule = {
  name: 'start.lifecycle',
  title: 'ARQ lifecycle over HTTP through npm start (all services in one process)',
  async run(ctx) {
    const { config, db } = ctx;
    const stops: (() => Promise<void>)[] = [];
    const stopAll = async () => {
      for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
    };
    ctx.onCleanup(stopAll);
    try {
      await db.resetSchema();
      const nats = await BenchNatsServer.start();
      stops.push(() => nats.stop());
      const placement = await BenchPlacement.start();
      stops.push(() => placement.stop());
      const nova = await BenchNova.start();
      stops.push(() => nova.stop());
      const hostname = `bench-${randomBytes(2).toString('hex')}-one`;
      // Nova creates the compute node's provider; without it placement-sync only waits.
      await placement.call('POST', '/resource_providers', { name: hostname });
      const port = await freePort();
      const service = await ServiceProcess.start({
        name: 'all-in-one',
        main: appMain('all-in-one'),
        env: {
          DATABASE_URL: db.url,
          NATS_URL: nats.url,
          PLACEMENT_URL: placement.url,
          NOVA_URL: nova.url,
          API_HOST: '127.0.0.1',
          API_PORT: String(port),
          AGENT_HOSTNAME: hostname,
          AGENT_DRIVERS: 'fake',
          PLACEMENT_RECONCILE_INTERVAL_MS: '3600000',
          AGENT_REPORT_INTERVAL_MS: '3600000',
          LOG_LEVEL: 'log',
        },
        readyMessage: 'agent listening',
        execArgv: profileFlags('all-in-one'),
      });
      stops.push(() => service.stop());
      const apiUrl = `http://127.0.0.1:${port}`;
      const [rp] = await fakeDeviceProviders(apiUrl, [hostname]);
      const profile = await createFpgaProfile(apiUrl);
      const target: LifecycleTarget = {
        apiUrl,
        profile,
        hosts: [{ hostname, rp }],
        usage: async () => new Map([['all-in-one', await service.usage()]]),
        outside: new OutsideCpu(db.pool, db.name, nats.pid),
      };
      // The first binds pay for warm-up; they are not measured.
      for (let i = 0; i < 3; i++) await lifecycle(apiUrl, profile, hostname, rp);
      await sleep(500);

      const bound: string[] = [];
      for (const clients of config.startClients) {
        const run = await runLifecycles(ctx, target, clients, config.lifecycleSeconds);
        bound.push(...run.bound);
        const prefix = `start.lifecycle.clients${clients}`;
        const goals = GOALS[clients] ?? {};
        const rate = run.lifecycles / run.seconds;
        const p = (q: number) => percentile(run.bind, q);
        const note =
          `${clients} client${clients > 1 ? 's' : ''}, ${run.seconds.toFixed(1)}s, ${run.lifecycles} lifecycles` +
          `${run.failed ? `, ${run.failed} binds did not end Bound` : ''}; ${costNote(run)}`;
        ctx.log(
          `npm start, ${clients} clients: ${rate.toFixed(0)} lifecycles/s, bind p50/p95/p99 ` +
            `${p(50).toFixed(1)}/${p(95).toFixed(1)}/${p(99).toFixed(1)} ms; ${note}`,
        );
        for (const q of [50, 95, 99]) {
          ctx.record(
            figure({
              name: `${prefix}.bind.p${q}`,
              value: p(q),
              unit: 'ms',
              baseline: null,
              goal: q === 99 && goals.bindP99 !== undefined ? { maxValue: goals.bindP99 } : undefined,
              note: q === 99 ? note : undefined,
            }),
          );
        }
        ctx.record(
          figure({
            name: `${prefix}.rate`,
            value: rate,
            unit: 'lifecycles/s',
            baseline: null,
            goal: goals.rate !== undefined ? { value: goals.rate } : undefined,
          }),
        );
        ctx.record(
          figure({
            name: `${prefix}.failed`,
            value: run.failed,
            unit: 'binds',
            baseline: null,
            goal: { maxValue: 0 },
            note: 'binds that did not end Bound',
          }),
        );
        recordCost(ctx, prefix, run, { cpuMs: goals.cpuMs, statements: STATEMENTS_GOAL });
        await sleep(500);
      }
      recordNova(ctx, 'start.lifecycle', await nova.missing(bound, 10_000), bound.length);
    } finally {
      await stopAll();
    }
  },
};
