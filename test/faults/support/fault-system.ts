import type { CyborgEvent } from '@cyborg/contracts';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { eventSchemas } from '@cyborg/contracts';
import {
  createDataSource,
  EVENTS_STREAM,
  type EventsStreamOptions,
  EventStore,
  EventTypeRegistry,
} from '@cyborg/event-store';
import { FakeGlance } from '../../support/fake-glance';
import { FakeNova } from '../../support/fake-nova';
import { TestPlacement } from '../../support/placement';
import { NatsCluster, type NatsClusterOptions } from './nats-cluster';
import { type NatsUser, NatsWithUsers } from './nats-with-users';
import { freePort } from './ports';
import { PrivatePostgres } from './private-postgres';
import { LogBook, ServiceProcess } from './service-process';

export const HOSTS = ['compute-1', 'compute-2'] as const;
export type Host = (typeof HOSTS)[number];

export const DATABASE = 'cyborg';
/** A bind ends by then; short, so that the faults' unfinished binds end within a scenario. */
export const BIND_TIMEOUT_MS = 10_000;
/** A bind running this long is taken over by another conductor (its own may be dead). */
export const BIND_TAKEOVER_AFTER_MS = 3000;
/** How often the conductors anchor the log in JetStream. */
export const ANCHOR_INTERVAL_MS = 1000;

/** The services a deployment may run several of, side by side. */
export const REPLICATED = ['conductor', 'api', 'placement-sync'] as const;

/** The name of the `n`th (from 1) process of a replicated service: `api`, `api-2`, ... */
export function replicaName(app: string, n: number): string {
  return n === 1 ? app : `${app}-${n}`;
}

/** What each service logs once it serves. */
const READY: Record<string, RegExp> = {
  conductor: /"msg":"conductor listening"/,
  api: /"msg":"api listening"/,
  'placement-sync': /"msg":"placement sync active"|another placement-sync is active/,
  agent: /"msg":"agent listening"/,
};

export interface FaultSystemOptions {
  /**
   * Three nats-servers in a cluster (deploy/nats/nats-cluster.conf) instead
   * of one, the events stream and consumers at 3 replicas, under this
   * stream name and subject prefix.
   */
  natsCluster?: NatsClusterOptions;
  /** A synchronous streaming standby of the primary; the services get both in a multi-host DATABASE_URL. */
  standby?: boolean;
  /** How many of each of the conductor, the API and placement-sync run (1: one each). */
  replicas?: number;
  /** PostgreSQL session options every service is given in DATABASE_URL (`?options=`), e.g. `-c tcp_keepalives_idle=10`. */
  databaseOptions?: string;
  /**
   * Conductors `addConductor` may add later: their metrics ports are chosen
   * at boot and listed in the API's CONDUCTOR_METRICS_URLS from the start
   * (named as not answering until they run).
   */
  spareConductors?: number;
}

/**
 * The whole system as separate processes, as deployed: conductor(s), API,
 * placement-sync and an agent per host (fake and simulated drivers), over a
 * private PostgreSQL cluster (password auth), a private nats-server with the
 * documented per-host users, a real Placement, a recording Nova and a
 * Glance serving bitstreams. Every
 * secret is random and known here, so the logs can be searched for them.
 */
export class FaultSystem {
  readonly dir = mkdtempSync(join(tmpdir(), 'cyborg-faults-'));
  readonly logs = new LogBook(join(this.dir, 'services.log'));
  readonly services = new Map<string, ServiceProcess>();
  readonly novaToken = `nova-${randomBytes(12).toString('hex')}`;
  /** ANCHOR_SIGNING_KEY, the conductors' only: they sign every anchor with it, and the invariants check them with it. */
  readonly anchorSigningKey = `anchor-${randomBytes(24).toString('hex')}`;
  /** The primary now. */
  pg: PrivatePostgres;
  nats: NatsWithUsers | NatsCluster;
  /** The JetStream stream the services relay the log into. */
  eventsStream = EVENTS_STREAM;
  /** EVENTS_STREAM_NAME and EVENTS_SUBJECT_PREFIX as the services were given them (the anchors stream follows them). */
  get eventsStreamOptions(): EventsStreamOptions {
    const cluster = this.options.natsCluster;
    return cluster ? { streamName: cluster.streamName, subjectPrefix: cluster.subjectPrefix } : {};
  }
  /** With `{ standby: true }`: a synchronous streaming standby of the primary, until it is promoted. */
  standby: PrivatePostgres | null = null;
  /** The servers in the order the services' multi-host URL names them. */
  clusters: PrivatePostgres[] = [];
  placement: TestPlacement;
  nova: FakeNova;
  /** Where agents fetch the bitstreams they program. */
  glance: FakeGlance;
  apiUrl: string;
  /** Every API's URL (the first is `apiUrl`), as a load balancer in front of them would know them. */
  apiUrls: string[] = [];
  /** The first conductor's metrics port. */
  conductorMetricsUrl: string;
  /** Every conductor's metrics port, spares included, in start order: the API's CONDUCTOR_METRICS_URLS. */
  conductorMetricsUrls: string[] = [];
  /** Metrics ports reserved for conductors `addConductor` has not added yet. */
  private spareConductorPorts: number[] = [];
  /** The test's own connection to the service database (application name `faults-check`). */
  db: DataSource;
  store: EventStore<CyborgEvent>;

  constructor(readonly options: FaultSystemOptions = {}) {}

  get replicas(): number {
    return this.options.replicas ?? 1;
  }

  static async start(options: FaultSystemOptions = {}): Promise<FaultSystem> {
    const system = new FaultSystem(options);
    try {
      await system.boot();
    } catch (error) {
      await system.close();
      throw error;
    }
    return system;
  }

  /**
   * The services' DATABASE_URL: the primary's, or with a standby both
   * servers', as libpq's multi-host form that keeps the read-write one.
   */
  databaseUrl(database: string): string {
    const options = this.options.databaseOptions ? `options=${encodeURIComponent(this.options.databaseOptions)}` : '';
    if (this.clusters.length < 2) return options ? `${this.pg.url(database)}?${options}` : this.pg.url(database);
    const hosts = this.clusters.map((c) => `127.0.0.1:${c.port}`).join(',');
    const url = `postgresql://postgres:${encodeURIComponent(this.pg.password)}@${hosts}/${database}?target_session_attrs=read-write`;
    return options ? `${url}&${options}` : url;
  }

  /** Promotes the standby: from now on it is the primary (the old one must be stopped first: fencing). */
  async promoteStandby(): Promise<void> {
    if (!this.standby) throw new Error('no standby to promote');
    await this.standby.promote();
    this.pg = this.standby;
    this.standby = null;
  }

  /** Every secret the services were given. */
  get secrets(): string[] {
    return [this.pg.password, this.novaToken, this.anchorSigningKey, ...Object.values(this.nats.passwords)];
  }

  service(name: string): ServiceProcess {
    const service = this.services.get(name);
    if (!service) throw new Error(`no service ${name}`);
    return service;
  }

  hostFile(host: string): string {
    return join(this.dir, `${host}.yaml`);
  }

  /** Starts a service already defined (again), waiting until it serves. */
  async startService(name: string): Promise<void> {
    const service = this.service(name);
    await service.start(READY[service.app]);
  }

  /** A further conductor beside the others: they share the work through the queue group. */
  async addConductor(name: string): Promise<ServiceProcess> {
    const port = this.spareConductorPorts.shift();
    if (port === undefined) throw new Error('no spare conductor metrics port: start the system with spareConductors');
    const service = new ServiceProcess(
      name,
      'conductor',
      this.env('conductor', { CONDUCTOR_METRICS_PORT: String(port) }),
      this.logs,
    );
    this.services.set(name, service);
    await service.start(READY.conductor);
    return service;
  }

  async close(): Promise<void> {
    for (const service of [...this.services.values()].reverse()) await service.kill('SIGTERM').catch(() => undefined);
    for (const service of this.services.values()) await service.kill('SIGKILL').catch(() => undefined);
    if (this.db?.isInitialized) await this.db.destroy().catch(() => undefined);
    await this.nova?.close().catch(() => undefined);
    await this.glance?.close().catch(() => undefined);
    await this.placement?.stop().catch(() => undefined);
    await this.nats?.destroy().catch(() => undefined);
    for (const cluster of new Set([this.pg, ...this.clusters])) await cluster?.destroy().catch(() => undefined);
    if (!process.env.CYBORG_FAULTS_KEEP) rmSync(this.dir, { recursive: true, force: true });
  }

  /** The three servers, when the system runs on a cluster. */
  get natsCluster(): NatsCluster {
    if (!(this.nats instanceof NatsCluster)) throw new Error('this system runs on one nats-server');
    return this.nats;
  }

  private env(user: NatsUser, extra: Record<string, string> = {}): Record<string, string> {
    const cluster = this.options.natsCluster;
    return {
      ...(cluster && {
        EVENTS_STREAM_NAME: cluster.streamName,
        EVENTS_SUBJECT_PREFIX: cluster.subjectPrefix,
        JETSTREAM_REPLICAS: '3',
      }),
      DATABASE_URL: this.databaseUrl(DATABASE),
      DATABASE_POOL_SIZE: '4',
      NATS_URL: this.nats.url(user),
      NOVA_URL: this.nova.url,
      NOVA_AUTH_TOKEN: this.novaToken,
      PLACEMENT_URL: this.placement.url,
      PLACEMENT_RETRY_MAX_MS: '2000',
      PLACEMENT_RECONCILE_INTERVAL_MS: '15000',
      PLACEMENT_SYNC_STANDBY_POLL_MS: '500',
      RPC_TIMEOUT_MS: '3000',
      BIND_TIMEOUT_MS: String(BIND_TIMEOUT_MS),
      BIND_TAKEOVER_AFTER_MS: String(BIND_TAKEOVER_AFTER_MS),
      PROJECTION_POLL_MS: '200',
      // Anchored often, so that every scenario's faults land between anchors; the key only where anchors are made.
      ...(user === 'conductor' && {
        ANCHOR_INTERVAL_MS: String(ANCHOR_INTERVAL_MS),
        ANCHOR_SIGNING_KEY: this.anchorSigningKey,
      }),
      AGENT_REPORT_INTERVAL_MS: '5000',
      LOG_LEVEL: 'log',
      LOG_FORMAT: 'json',
      // Several agents share this machine: each its own metrics port, chosen by the kernel.
      // (Conductors get known ones, which the API reads bind metrics from.)
      AGENT_METRICS_PORT: '0',
      PLACEMENT_SYNC_METRICS_PORT: '0',
      ...extra,
    };
  }

  private async boot(): Promise<void> {
    this.pg = await PrivatePostgres.start(`pg-${randomBytes(12).toString('hex')}`);
    await this.pg.createDatabase(DATABASE);
    this.clusters = [this.pg];
    if (this.options.standby) {
      this.standby = await PrivatePostgres.standbyOf(this.pg);
      this.clusters.push(this.standby);
      await this.pg.requireSynchronousStandby();
    }
    const cluster = this.options.natsCluster;
    this.nats = cluster ? await NatsCluster.start(cluster) : await NatsWithUsers.start();
    if (cluster) this.eventsStream = cluster.streamName;
    this.nova = await FakeNova.start();
    this.glance = await FakeGlance.start();
    this.placement = await TestPlacement.start();
    // Nova makes each compute node's provider; placement-sync puts the deployables under it.
    for (const host of HOSTS) await this.placement.call('POST', '/resource_providers', { name: host });
    const example = readFileSync(new URL('../../../deploy/simulated-host.yaml', import.meta.url), 'utf8');
    for (const host of HOSTS) writeFileSync(this.hostFile(host), example);

    const define = (name: string, app: string, env: Record<string, string>) =>
      this.services.set(name, new ServiceProcess(name, app, env, this.logs));
    // Every conductor's metrics port is known beforehand, the spares' too: the API reads their bind metrics.
    const conductorPorts: number[] = [];
    while (conductorPorts.length < this.replicas + (this.options.spareConductors ?? 0)) {
      const port = await freePort();
      if (!conductorPorts.includes(port)) conductorPorts.push(port);
    }
    this.conductorMetricsUrls = conductorPorts.map((port) => `http://127.0.0.1:${port}`);
    this.conductorMetricsUrl = this.conductorMetricsUrls[0];
    this.spareConductorPorts = conductorPorts.slice(this.replicas);
    for (let n = 1; n <= this.replicas; n++) {
      const metrics = { CONDUCTOR_METRICS_PORT: String(conductorPorts[n - 1]) };
      define(replicaName('conductor', n), 'conductor', this.env('conductor', metrics));
    }
    for (let n = 1; n <= this.replicas; n++) {
      const apiPort = await freePort();
      this.apiUrls.push(`http://127.0.0.1:${apiPort}`);
      define(
        replicaName('api', n),
        'api',
        this.env('api', {
          API_PORT: String(apiPort),
          API_HOST: '127.0.0.1',
          CONDUCTOR_METRICS_URLS: this.conductorMetricsUrls.join(','),
        }),
      );
    }
    this.apiUrl = this.apiUrls[0];
    for (let n = 1; n <= this.replicas; n++) {
      define(replicaName('placement-sync', n), 'placement-sync', this.env('placement-sync'));
    }
    for (const host of HOSTS) {
      define(
        host,
        'agent',
        this.env(`agent-${host}`, {
          AGENT_HOSTNAME: host,
          AGENT_DRIVERS: 'fake,simulated',
          AGENT_SIMULATED_HOST_FILE: this.hostFile(host),
          BITSTREAM_SOURCE: `glance+${this.glance.url}`,
        }),
      );
    }
    // The conductor first: it creates the schema the others read.
    // The first of each before its replicas: it takes the single-active roles, the others stand by.
    const replicated = REPLICATED.flatMap((app) =>
      Array.from({ length: this.replicas }, (_, i) => replicaName(app, i + 1)),
    );
    for (const name of [...replicated, ...HOSTS]) await this.startService(name);

    this.db = createDataSource({ url: this.databaseUrl(DATABASE), poolSize: 4, applicationName: 'faults-check' });
    await this.db.initialize();
    this.store = new EventStore(this.db, EventTypeRegistry.from(eventSchemas));
  }
}
