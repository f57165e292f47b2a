import { randomUUID } from 'node:crypto';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { loadSettings, type RunningService } from '@cyborg/config';
import { agentSubject, ConductorCommands, hostCommandSubject, type PingReply } from '@cyborg/contracts';
import { EventStore, EVENTS_STREAM } from '@cyborg/event-store';
import { connectNats, MessagingModule, RpcClient, RpcFailure } from '@cyborg/messaging';
import { startAgent } from '../../apps/agent/src/start';
import { startApi } from '../../apps/api/src/start';
import { startConductor } from '../../apps/conductor/src/start';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { TestNatsServer } from '../support/nats-server';
import { quietLogger } from '../support/logger';

/**
 * The four services wired together over a real NATS and PostgreSQL: the API
 * is healthy, agents register through the conductor, the conductor reaches
 * each host's agent, and the log reaches JetStream.
 */
let db: TestDatabase;
let nats: TestNatsServer;
let nc: NatsConnection;
let client: INestApplicationContext;
let rpc: RpcClient;
let apiUrl: string;
const services: RunningService[] = [];
const hosts = [`host-a-${randomUUID().slice(0, 8)}`, `host-b-${randomUUID().slice(0, 8)}.example.com`];

function settingsFor(extra: Record<string, string> = {}) {
  return loadSettings({
    DATABASE_URL: db.url,
    NATS_URL: nats.url,
    API_PORT: '0',
    API_HOST: '127.0.0.1',
    PROJECTION_POLL_MS: '50',
    RPC_TIMEOUT_MS: '2000',
    ...extra,
  });
}

async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  db = await createTestDatabase();
  nats = await TestNatsServer.start();
  nc = await connectNats(nats.url, 'services-test');
  services.push(await startConductor(settingsFor(), quietLogger));
  const api = await startApi(settingsFor(), quietLogger);
  apiUrl = api.url;
  services.push(api);
  for (const hostname of hosts) {
    services.push(await startAgent(settingsFor({ AGENT_HOSTNAME: hostname, AGENT_DRIVERS: 'fake' }), quietLogger));
  }
  client = await NestFactory.createApplicationContext(
    MessagingModule.forRoot({ servers: nats.url, name: 'services-test-client', defaultTimeoutMs: 2000 }),
    { logger: false },
  );
  await client.init();
  rpc = client.get(RpcClient);
});

afterAll(async () => {
  await client?.close();
  for (const s of services.reverse()) await s.close();
  await nc?.close();
  await nats?.destroy();
  await db?.drop();
});

it('reports PostgreSQL, NATS and projection lag on /healthz', async () => {
  const response = await fetch(`${apiUrl}/healthz`);
  expect(response.status).toBe(200);
  const body = (await response.json()) as {
    status: string;
    checks: Record<string, { ok: boolean }>;
    projections: unknown[];
  };
  expect(body.status).toBe('ok');
  expect(body.checks.postgres.ok).toBe(true);
  expect(body.checks.nats.ok).toBe(true);
  expect(Array.isArray(body.projections)).toBe(true);
  expect(response.headers.get('x-openstack-request-id')).toMatch(/^req-[0-9a-f-]{36}$/);
});

it('answers unknown paths in Cyborg\'s error shape', async () => {
  const response = await fetch(`${apiUrl}/v2/no_such_thing`);
  expect(response.status).toBe(404);
  const body = (await response.json()) as { error_message: string };
  expect(JSON.parse(body.error_message)).toMatchObject({ faultcode: 'Client', debuginfo: null });
});

it('registers each agent through the conductor as an event on its host stream', async () => {
  const store = new EventStore(db.dataSource);
  for (const hostname of hosts) {
    const events = await eventually(async () => {
      const e = await store.readStream(`host-${hostname}`);
      return e.length > 0 ? e : undefined;
    });
    // Inventory reports follow on the same stream.
    expect(events.filter((e) => e.type === 'HostRegistered')).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'HostRegistered', data: { hostname, drivers: ['fake'] } });
    expect(events[0].metadata).toMatchObject({ service: true });
  }
});

it('appends nothing when an agent restarts unchanged', async () => {
  const hostname = hosts[0];
  const agent = await startAgent(settingsFor({ AGENT_HOSTNAME: `${hostname}-again`, AGENT_DRIVERS: 'fake' }), quietLogger);
  const store = new EventStore(db.dataSource);
  const streamId = `host-${hostname}-again`;
  // Registered, then its first inventory report recorded.
  await eventually(async () =>
    (await store.readStream(streamId)).some((e) => e.type === 'InventoryReported') ? true : undefined,
  );
  await agent.close();
  const version = await store.streamVersion(streamId);
  const again = await startAgent(settingsFor({ AGENT_HOSTNAME: `${hostname}-again`, AGENT_DRIVERS: 'fake' }), quietLogger);
  const subject = hostCommandSubject(ConductorCommands.registerHost, `${hostname}-again`);
  const result = await rpc.request<{ changed: boolean }>(subject, {
    commandId: randomUUID(),
    caller: { roles: ['service'], service: true },
    hostname: `${hostname}-again`,
    drivers: ['fake'],
    agentVersion: '0.1.0',
  });
  await again.close();
  expect(result.changed).toBe(false);
  expect(await store.streamVersion(streamId)).toBe(version);
});

it('reaches each host\'s own agent, and only it, on cyborg.agent.<host>.<work>', async () => {
  for (const hostname of hosts) {
    const reply = await rpc.request<PingReply>(agentSubject(hostname, 'ping'), {});
    expect(reply.hostname).toBe(hostname);
  }
  const error = await rpc.request(agentSubject('no-such-host', 'ping'), {}).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(RpcFailure);
  expect(error).toMatchObject({ code: 'unavailable', status: 503 });
});

it('answers a malformed command with a typed error and keeps serving', async () => {
  const hostC = `host-c-${randomUUID().slice(0, 8)}`;
  const subject = hostCommandSubject(ConductorCommands.registerHost, hostC);
  const garbage = await nc.request(subject, 'not json{', { timeout: 2000 });
  expect(garbage.json()).toMatchObject({ err: expect.objectContaining({ code: 'invalid_message', status: 400 }) });

  const invalid = await rpc
    .request(subject, { commandId: randomUUID(), caller: { roles: [], service: false }, hostname: 'bad host!', drivers: [], agentVersion: '1' })
    .catch((e: unknown) => e);
  expect(invalid).toMatchObject({ code: 'invalid_message', status: 400 });
  expect((invalid as Error).message).toMatch(/hostname/);

  const ok = await rpc.request<{ changed: boolean }>(subject, {
    commandId: randomUUID(),
    caller: { roles: ['service'], service: true },
    hostname: hostC,
    drivers: ['fake'],
    agentVersion: '0.1.0',
  });
  expect(ok.changed).toBe(true);
});

it('relays the log to JetStream with the event id as Nats-Msg-Id', async () => {
  const store = new EventStore(db.dataSource);
  const expected = (await store.readAll({ limit: 1000 })).events.map((e) => e.eventId);
  const js = jetstream(nc);
  const seen = await eventually(async () => {
    const consumer = await js.consumers.get(EVENTS_STREAM);
    const ids: string[] = [];
    const messages = await consumer.fetch({ max_messages: 1000, expires: 1000 });
    for await (const m of messages) {
      expect(m.headers?.get('Nats-Msg-Id')).toBe(m.json<{ eventId: string }>().eventId);
      ids.push(m.json<{ eventId: string }>().eventId);
      if (m.info.pending === 0) break;
    }
    return ids.length >= expected.length ? ids : undefined;
  });
  expect(seen.slice(0, expected.length)).toEqual(expected);
});
