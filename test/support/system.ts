import type { CyborgEvent } from '@cyborg/contracts';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplicationContext, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { loadSettings, type RunningService, type Settings } from '@cyborg/config';
import { eventSchemas } from '@cyborg/contracts';
import { EventStore, EventTypeRegistry } from '@cyborg/event-store';
import { MessagingModule, RpcClient } from '@cyborg/messaging';
import { startAgent } from '../../apps/agent/src/start';
import { startApi } from '../../apps/api/src/start';
import { startConductor } from '../../apps/conductor/src/start';
import { createTestDatabase, type TestDatabase } from './database';
import { quietLogger } from './logger';
import { TestNatsServer } from './nats-server';

export interface TestSystemOptions {
  /** Names the temp folder and the NATS client. */
  name: string;
  /** The one agent's host; it runs the fake and simulated drivers on its own copy of the example host. */
  hostname: string;
  /** Settings for every service, e.g. NOVA_URL. */
  settings?: Record<string, string>;
  /** Settings for the agent alone. */
  agentSettings?: Record<string, string>;
  /** Each service's logger; quiet (errors only) by default. */
  logger?: (service: 'conductor' | 'api' | 'agent') => LoggerService;
}

/**
 * The whole system for one test file, over real servers: a fresh database,
 * a private nats-server (other runs share port 4222), the conductor, the API
 * and one agent, plus an RPC client and an event store to look behind the API.
 */
export class TestSystem {
  private readonly services: RunningService[] = [];
  private client: INestApplicationContext | null = null;
  db: TestDatabase;
  nats: TestNatsServer;
  dir: string;
  apiUrl: string;
  rpc: RpcClient;
  store: EventStore<CyborgEvent>;

  private constructor(private readonly options: TestSystemOptions) {}

  static async start(options: TestSystemOptions): Promise<TestSystem> {
    const system = new TestSystem(options);
    try {
      await system.boot();
    } catch (error) {
      await system.close();
      throw error;
    }
    return system;
  }

  /** A running service by name (`conductor`, `api`, `agent:<host>`). */
  service(name: string): RunningService {
    const found = this.services.find((s) => s.name === name);
    if (!found) throw new Error(`no service ${name}`);
    return found;
  }

  /** The agent's simulated host file, which a test may edit before forcing a report. */
  get hostFile(): string {
    return join(this.dir, `${this.options.hostname}.yaml`);
  }

  settings(extra: Record<string, string> = {}): Settings {
    return loadSettings({
      DATABASE_URL: this.db.url,
      NATS_URL: this.nats.url,
      API_PORT: '0',
      API_HOST: '127.0.0.1',
      PROJECTION_POLL_MS: '50',
      ...this.options.settings,
      ...extra,
    });
  }

  /** Stops the conductor, runs `whileStopped`, and starts a new one on the same servers (what a crash and restart leave). */
  async restartConductor(whileStopped: () => Promise<void> = async () => undefined): Promise<void> {
    const index = this.services.findIndex((s) => s.name === 'conductor');
    await this.services[index].close();
    await whileStopped();
    const logger = this.options.logger ?? (() => quietLogger);
    this.services[index] = await startConductor(this.settings(), logger('conductor'));
  }

  async close(): Promise<void> {
    await this.client?.close();
    for (const service of this.services.reverse()) await service.close();
    await this.nats?.destroy();
    await this.db?.drop();
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }

  private async boot(): Promise<void> {
    this.db = await createTestDatabase();
    this.nats = await TestNatsServer.start();
    this.dir = await mkdtemp(join(tmpdir(), `cyborg-${this.options.name}-`));
    const example = await readFile(new URL('../../deploy/simulated-host.yaml', import.meta.url), 'utf8');
    await writeFile(this.hostFile, example);

    const logger = this.options.logger ?? (() => quietLogger);
    this.services.push(await startConductor(this.settings(), logger('conductor')));
    const api = await startApi(this.settings(), logger('api'));
    this.apiUrl = api.url;
    this.services.push(api);
    const agent = this.settings({
      AGENT_HOSTNAME: this.options.hostname,
      AGENT_DRIVERS: 'fake,simulated',
      AGENT_SIMULATED_HOST_FILE: this.hostFile,
      ...this.options.agentSettings,
    });
    this.services.push(await startAgent(agent, logger('agent')));

    this.client = await NestFactory.createApplicationContext(
      MessagingModule.forRoot({
        servers: this.nats.url,
        name: `${this.options.name}-test-client`,
        defaultTimeoutMs: 10_000,
      }),
      { logger: false },
    );
    await this.client.init();
    this.rpc = this.client.get(RpcClient);
    this.store = new EventStore(this.db.dataSource, EventTypeRegistry.from(eventSchemas));
  }
}
