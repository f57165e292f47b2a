import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { NestFactory } from '@nestjs/core';
import { MessagingModule, RpcClient } from '@cyborg/messaging';
import { type BenchContext, sharedOnce } from '../support/context';
import { BenchNatsServer } from './nats-server';
import { BenchNova } from './nova-server';
import { BenchPlacement, CountingProxy } from './placement-server';
import { freePort } from './ports';
import { ServiceProcess } from './service-process';
import type { ProcessUsage } from './usage';

const app = (name: string) => new URL(`../../apps/${name}/main.js`, import.meta.url);

/** Hosts whose agents the ARQ figures bind on: the fake driver, 16 handles each. */
export interface AgentHost {
  hostname: string;
  agent: ServiceProcess;
}

/**
 * The whole system as operators run it, one process per service from
 * dist/apps: conductor, API, placement-sync (against a real Placement,
 * through a counting proxy) and one agent per host, on the run's database
 * (emptied first) and on a nats-server of the run's own. Started once per
 * run by the first module that needs it; stopped at the end of the run.
 */
export class BenchSystem {
  readonly hosts: AgentHost[] = [];
  /** A temp dir for simulated host files. */
  dir = '';
  apiUrl = '';

  private constructor(
    readonly nats: BenchNatsServer,
    readonly placement: BenchPlacement,
    readonly proxy: CountingProxy,
    /** Where the conductor tells Nova how binds ended. */
    readonly nova: BenchNova,
    readonly services: Map<string, ServiceProcess>,
    /** Request/reply to the services over the run's NATS, as the API and agents do. */
    readonly rpc: RpcClient,
  ) {}

  static get(ctx: BenchContext): Promise<BenchSystem> {
    return sharedOnce(ctx, 'system', () => BenchSystem.start(ctx));
  }

  service(name: string): ServiceProcess {
    const service = this.services.get(name);
    if (!service) throw new Error(`no service ${name}`);
    return service;
  }

  /** Memory and CPU of every service now (after a full collection when `afterGc`). */
  async usage(afterGc = false): Promise<Map<string, ProcessUsage>> {
    const entries = await Promise.all(
      [...this.services].map(async ([name, s]) => [name, await s.usage(afterGc)] as const),
    );
    return new Map(entries);
  }

  private static async start(ctx: BenchContext): Promise<BenchSystem> {
    const { db, config } = ctx;
    ctx.log('system: empty schema, nats-server, Placement; then conductor, api, placement-sync and agents');
    await db.resetSchema();
    const nats = await BenchNatsServer.start();
    ctx.onCleanup(() => nats.stop());
    const placement = await BenchPlacement.start();
    ctx.onCleanup(() => placement.stop());
    const proxy = await CountingProxy.start(placement.url);
    ctx.onCleanup(() => proxy.stop());
    const nova = await BenchNova.start();
    ctx.onCleanup(() => nova.stop());

    const messaging = await NestFactory.createApplicationContext(
      MessagingModule.forRoot({ servers: nats.url, name: 'cyborg-bench', defaultTimeoutMs: 30_000 }),
      { logger: false },
    );
    ctx.onCleanup(() => messaging.close());
    await messaging.init();

    const services = new Map<string, ServiceProcess>();
    const system = new BenchSystem(nats, placement, proxy, nova, services, messaging.get(RpcClient));
    system.dir = await mkdtemp(join(tmpdir(), 'cyborg-bench-'));
    ctx.onCleanup(() => rm(system.dir, { recursive: true, force: true }));
    ctx.onCleanup(() => system.stopServices());

    const env = {
      DATABASE_URL: db.url,
      NATS_URL: nats.url,
      PLACEMENT_URL: proxy.url,
      NOVA_URL: nova.url,
      // Only the changes the figures make; a periodic full pass would add calls of its own.
      PLACEMENT_RECONCILE_INTERVAL_MS: '3600000',
      AGENT_REPORT_INTERVAL_MS: '3600000',
      LOG_LEVEL: 'log',
      // Four agents on one machine: each its own metrics port, chosen by the kernel.
      CONDUCTOR_METRICS_PORT: '0',
      AGENT_METRICS_PORT: '0',
      PLACEMENT_SYNC_METRICS_PORT: '0',
    };
    // The conductor first: it migrates, and the others wait for its subjects.
    services.set('conductor', await start('conductor', env, 'conductor listening'));
    const apiPort = await freePort();
    const [api, placementSync] = await Promise.all([
      start('api', { ...env, API_HOST: '127.0.0.1', API_PORT: String(apiPort) }, 'api listening'),
      start('placement-sync', env, 'placement sync active'),
    ]);
    services.set('api', api);
    services.set('placement-sync', placementSync);
    system.apiUrl = String((await api.ready()).url);

    // Nova creates each compute node's provider; without it placement-sync only waits.
    const tag = randomBytes(2).toString('hex');
    const hostnames = Array.from({ length: config.agents }, (_, i) => `bench-${tag}-compute-${i}`);
    for (const hostname of hostnames) await placement.call('POST', '/resource_providers', { name: hostname });
    const agents = await Promise.all(
      hostnames.map((hostname) =>
        start('agent', { ...env, AGENT_HOSTNAME: hostname, AGENT_DRIVERS: 'fake' }, 'agent listening'),
      ),
    );
    agents.forEach((agent, i) => {
      services.set(i === 0 ? 'agent' : `agent-${i}`, agent);
      system.hosts.push({ hostname: hostnames[i], agent });
    });
    ctx.log(`system: ${services.size} services up; API ${system.apiUrl}, NATS ${nats.url}, Placement ${placement.url}`);
    return system;
  }

  private async stopServices(): Promise<void> {
    // Agents first, the conductor last: nobody is left asking it anything.
    for (const [, service] of [...this.services].reverse()) await service.stop();
  }
}

/** BENCH_CPU_PROFILE=conductor,api,…: those services write a V8 CPU profile into BENCH_CPU_PROFILE_DIR when stopped. */
const profiled = new Set((process.env.BENCH_CPU_PROFILE ?? '').split(',').map((s) => s.trim()));

/** The node flags that make the service `name` write a CPU profile, when BENCH_CPU_PROFILE names it. */
export function profileFlags(name: string): string[] {
  const dir = process.env.BENCH_CPU_PROFILE_DIR ?? join(tmpdir(), 'cyborg-bench-profiles');
  return profiled.has(name)
    ? ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${name}.${Date.now()}.cpuprofile`]
    : [];
}

export const appMain = app;

function start(name: string, env: Record<string, string>, readyMessage: string): Promise<ServiceProcess> {
  return ServiceProcess.start({ name, main: app(name), env, readyMessage, execArgv: profileFlags(name) });
}
