import type { CyborgEvent } from '@cyborg/contracts';
import { randomUUID } from 'node:crypto';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { loadSettings, type RunningService } from '@cyborg/config';
import { ConductorCommands, eventSchemas, hostCommandSubject } from '@cyborg/contracts';
import { fakeDevice, inventoryHash } from '@cyborg/drivers';
import { resourceProviderUuid } from '@cyborg/domain';
import { EventStore, EventTypeRegistry } from '@cyborg/event-store';
import { MessagingModule, RpcClient } from '@cyborg/messaging';
import { startAgent } from '../../apps/agent/src/start';
import { startApi } from '../../apps/api/src/start';
import { startConductor } from '../../apps/conductor/src/start';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { FakeNova } from '../support/fake-nova';
import { quietLogger } from '../support/logger';
import { TestNatsServer } from '../support/nats-server';
import { type ArqBody, bindOps, eventually, hostState, http, novaFor, unique, userOf } from './support';

/**
 * A bind always ends by its deadline (BIND_TIMEOUT_MS), in BindFailed when
 * the host's agent never answers, and Nova always hears of it; a conductor
 * that stops mid-bind leaves the bind to the next conductor's sweep. Upstream
 * leaves such ARQs BindStarted and Nova waiting 300 s.
 */
const BIND_TIMEOUT_MS = 4000;
let db: TestDatabase;
let nats: TestNatsServer;
let nova: FakeNova;
let api: string;
let client: INestApplicationContext;
let rpc: RpcClient;
let store: EventStore<CyborgEvent>;
let conductor: RunningService | null = null;
const services: RunningService[] = [];
// Registered and reported by hand: no agent serves it (until the last test starts one).
const hostname = `silent-${randomUUID().slice(0, 6)}`;
const rp = resourceProviderUuid(`${hostname}_FakeDevice`);
const project = 'project-a';
let profile: string;

function settingsFor(extra: Record<string, string> = {}) {
  return loadSettings({
    DATABASE_URL: db.url,
    NATS_URL: nats.url,
    API_PORT: '0',
    API_HOST: '127.0.0.1',
    PROJECTION_POLL_MS: '50',
    NOVA_URL: nova.url,
    BIND_TIMEOUT_MS: String(BIND_TIMEOUT_MS),
    ...extra,
  });
}

const call = <T = unknown>(
  method: string,
  path: string,
  options: { json?: unknown; headers?: Record<string, string> } = {},
) => http<T>(api, method, path, options);

async function createArq(): Promise<ArqBody> {
  const answer = await call<{ arqs: ArqBody[] }>('POST', '/v2/accelerator_requests', {
    json: { device_profile_name: profile },
    headers: userOf(project),
  });
  expect(answer.status).toBe(201);
  return answer.body.arqs[0];
}

const bind = (arq: string, instance: string) =>
  call('PATCH', '/v2/accelerator_requests', {
    json: { [arq]: bindOps(hostname, rp, instance) },
    headers: novaFor(project),
  });

const stateOf = async (uuid: string) => (await call<ArqBody>('GET', `/v2/accelerator_requests/${uuid}`)).body.state;

async function bindFailure(uuid: string): Promise<string | null> {
  const rows: { bind_failure: string | null }[] = await db.dataSource.query(
    `SELECT bind_failure FROM arqs WHERE uuid = $1`,
    [uuid],
  );
  return rows[0]?.bind_failure ?? null;
}

beforeAll(async () => {
  db = await createTestDatabase();
  nats = await TestNatsServer.start();
  nova = await FakeNova.start();
  conductor = await startConductor(settingsFor(), quietLogger);
  const running = await startApi(settingsFor(), quietLogger);
  api = running.url;
  services.push(running);
  client = await NestFactory.createApplicationContext(
    MessagingModule.forRoot({ servers: nats.url, name: 'bind-deadline-test-client', defaultTimeoutMs: 10_000 }),
    { logger: false },
  );
  await client.init();
  rpc = client.get(RpcClient);
  store = new EventStore(db.dataSource, EventTypeRegistry.from(eventSchemas));

  const caller = { roles: ['service'], service: true };
  await rpc.request(hostCommandSubject(ConductorCommands.registerHost, hostname), {
    commandId: randomUUID(),
    caller,
    hostname,
    drivers: ['fake'],
    agentVersion: '0.1.0',
  });
  const devices = [fakeDevice(hostname)];
  await rpc.request(hostCommandSubject(ConductorCommands.reportInventory, hostname), {
    commandId: randomUUID(),
    caller,
    hostname,
    generation: 1,
    inventoryHash: inventoryHash({ hostname, devices }),
    devices,
  });
  profile = unique('dp');
  expect(
    (await call('POST', '/v2/device_profiles', { json: [{ name: profile, groups: [{ 'resources:FPGA': '1' }] }] }))
      .status,
  ).toBe(201);
});

afterAll(async () => {
  await client?.close();
  await conductor?.close();
  for (const service of services.reverse()) await service.close();
  await nova?.close();
  await nats?.destroy();
  await db?.drop();
});

it('ends a bind the agent never answers in BindFailed at the deadline, and tells Nova', async () => {
  const arq = await createArq();
  const instance = randomUUID();
  const started = Date.now();
  expect((await bind(arq.uuid, instance)).status).toBe(202);

  // Still binding: Nova's resolved view of the instance is locked, as upstream.
  expect(await stateOf(arq.uuid)).toBe('BindStarted');
  const locked = await call('GET', `/v2/accelerator_requests?instance=${instance}&bind_state=resolved`, {
    headers: userOf(project),
  });
  expect(locked.status).toBe(423);
  expect(locked.body).toEqual({ error_message: 'null' });
  const resolvedOnly = await call<{ arqs: ArqBody[] }>('GET', '/v2/accelerator_requests?bind_state=resolved', {
    headers: userOf(project),
  });
  expect(resolvedOnly.body.arqs.map((a) => a.uuid)).not.toContain(arq.uuid);

  const event = await nova.eventFor(arq.uuid, BIND_TIMEOUT_MS + 5000);
  expect(event).toEqual({ name: 'accelerator-request-bound', server_uuid: instance, tag: arq.uuid, status: 'failed' });
  const elapsed = Date.now() - started;
  expect(elapsed).toBeGreaterThanOrEqual(BIND_TIMEOUT_MS - 100);
  expect(elapsed).toBeLessThan(BIND_TIMEOUT_MS + 3000);
  await eventually(async () => ((await stateOf(arq.uuid)) === 'BindFailed' ? true : undefined));
  expect(await bindFailure(arq.uuid)).toBe(
    `The bind did not finish by its deadline: no agent of host ${hostname} answered (no responders on cyborg.agent.${hostname}.bind).`,
  );
  const resolved = await call<{ arqs: ArqBody[] }>(
    'GET',
    `/v2/accelerator_requests?instance=${instance}&bind_state=resolved`,
    {
      headers: userOf(project),
    },
  );
  expect(resolved.status).toBe(200);
  expect(resolved.body.arqs.map((a) => a.state)).toEqual(['BindFailed']);

  // The failed bind holds its handle until Nova deletes the ARQ; then it is free.
  const before = await hostState(store, hostname);
  expect([...before.inventory.attachHandles.values()].filter((h) => h.allocatedTo === arq.uuid)).toHaveLength(1);
  expect(
    (await call('DELETE', `/v2/accelerator_requests?instance=${instance}`, { headers: novaFor(project) })).status,
  ).toBe(204);
  const after = await hostState(store, hostname);
  expect([...after.inventory.attachHandles.values()].filter((h) => h.inUse)).toEqual([]);
});

it('leaves a bind its stopped conductor did not end to the next conductor, which fails it past its deadline', async () => {
  const arq = await createArq();
  const instance = randomUUID();
  const started = Date.now();
  expect((await bind(arq.uuid, instance)).status).toBe(202);
  await conductor!.close();
  conductor = null;
  expect(await stateOf(arq.uuid)).toBe('BindStarted');
  await new Promise((r) => setTimeout(r, Math.max(0, started + BIND_TIMEOUT_MS + 200 - Date.now())));
  expect(nova.eventsFor(arq.uuid)).toEqual([]);

  conductor = await startConductor(settingsFor(), quietLogger);
  expect(await nova.eventFor(arq.uuid)).toMatchObject({ server_uuid: instance, status: 'failed' });
  await eventually(async () => ((await stateOf(arq.uuid)) === 'BindFailed' ? true : undefined));
  expect(await bindFailure(arq.uuid)).toMatch(/left unfinished when its conductor stopped/);
  expect((await call('DELETE', `/v2/accelerator_requests/${arq.uuid}`, { headers: novaFor(project) })).status).toBe(
    204,
  );
});

it('resumes, after a restart, a bind still within its deadline, and binds it once an agent answers', async () => {
  const arq = await createArq();
  expect((await bind(arq.uuid, randomUUID())).status).toBe(202);
  await conductor!.close();
  conductor = await startConductor(settingsFor(), quietLogger);
  services.push(
    await startAgent(
      settingsFor({ AGENT_HOSTNAME: hostname, AGENT_DRIVERS: 'fake', AGENT_REPORT_INTERVAL_MS: '600000' }),
      quietLogger,
    ),
  );
  expect(await nova.eventFor(arq.uuid)).toMatchObject({ status: 'completed' });
  await eventually(async () => ((await stateOf(arq.uuid)) === 'Bound' ? true : undefined));
});
