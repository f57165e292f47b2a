import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { loadSettings, type RunningService } from '@cyborg/config';
import {
  agentInboxPrefix,
  agentSubject,
  AgentWork,
  ConductorCommands,
  conductorSubject,
  hostCommandSubject,
} from '@cyborg/contracts';
import { fakeDevice, inventoryHash } from '@cyborg/drivers';
import { ANCHORS_STREAM, ANCHORS_SUBJECT, type LogAnchor } from '@cyborg/event-store';
import { natsServerOptions } from '@cyborg/messaging';
import { startAgent } from '../../apps/agent/src/start';
import { startApi } from '../../apps/api/src/start';
import { startConductor } from '../../apps/conductor/src/start';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { quietLogger } from '../support/logger';
import { type NatsUser, NatsWithUsers } from '../faults/support/nats-with-users';

/**
 * The documented production setup, deploy/nats/nats-server.conf, run by a
 * real nats-server: the services work under their own users (agents
 * register, report and answer bind work; the API reaches the conductor),
 * and an agent's user can publish and read only its own host's subjects.
 */
let db: TestDatabase;
let nats: NatsWithUsers;
let dir: string;
let apiUrl: string;
const services: RunningService[] = [];
const connections: NatsConnection[] = [];
const [own, other] = ['compute-1', 'compute-2'] as const;

function settingsFor(user: NatsUser, extra: Record<string, string> = {}) {
  return loadSettings({
    DATABASE_URL: db.url,
    NATS_URL: nats.url(user),
    API_PORT: '0',
    API_HOST: '127.0.0.1',
    PROJECTION_POLL_MS: '50',
    RPC_TIMEOUT_MS: '3000',
    AGENT_DRIVERS: 'fake',
    ...extra,
  });
}

/** A raw connection as `user`, as a compromised host could open with its agent's password. */
async function as(user: NatsUser): Promise<NatsConnection> {
  const host = user.startsWith('agent-') ? user.slice('agent-'.length) : null;
  const nc = await connect({
    ...natsServerOptions(nats.url(user)),
    name: `permissions-test-${user}`,
    // An agent reads replies only in its own inbox namespace, as the agent service does.
    ...(host ? { inboxPrefix: agentInboxPrefix(host) } : {}),
  });
  connections.push(nc);
  return nc;
}

async function eventCount(): Promise<number> {
  const rows: { n: number }[] = await db.dataSource.query(`SELECT count(*)::int AS n FROM events`);
  return rows[0].n;
}

async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** What the server answers a publish the user may not make (nats.js fails the request with it). */
async function publishRefused(nc: NatsConnection, subject: string, payload: unknown): Promise<string> {
  const error = await nc.request(subject, JSON.stringify(payload), { timeout: 3000 }).then(
    () => null,
    (e: unknown) => e,
  );
  return error instanceof Error ? error.message : `answered: ${String(error)}`;
}

/** What the server answers a subscription the user may not hold. */
async function subscriptionRefused(nc: NatsConnection, subject: string): Promise<string> {
  const sub = nc.subscribe(subject);
  let timer: NodeJS.Timeout | undefined;
  const closed = await Promise.race([
    sub.closed.then((e) => (e instanceof Error ? e.message : 'closed without error')),
    new Promise<string>((resolve) => (timer = setTimeout(() => resolve('still subscribed'), 3000))),
  ]);
  clearTimeout(timer);
  sub.unsubscribe();
  return closed;
}

beforeAll(async () => {
  db = await createTestDatabase();
  nats = await NatsWithUsers.start();
  dir = mkdtempSync(join(tmpdir(), 'cyborg-permissions-'));
  services.push(await startConductor(settingsFor('conductor', { ANCHOR_INTERVAL_MS: '200' }), quietLogger));
  const api = await startApi(settingsFor('api'), quietLogger);
  apiUrl = api.url;
  services.push(api);
  for (const host of [own, other]) {
    const hostFile = join(dir, `${host}.yaml`);
    copyFileSync(new URL('../../deploy/simulated-host.yaml', import.meta.url), hostFile);
    services.push(
      await startAgent(
        settingsFor(`agent-${host}`, {
          AGENT_HOSTNAME: host,
          AGENT_DRIVERS: 'fake,simulated',
          AGENT_SIMULATED_HOST_FILE: hostFile,
        }),
        quietLogger,
      ),
    );
  }
}, 60_000);

afterAll(async () => {
  for (const nc of connections) await nc.close().catch(() => undefined);
  for (const service of services.reverse()) await service.close();
  await nats?.destroy();
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('with per-host NATS users', () => {
  it('agents register and report their own hosts', async () => {
    for (const host of [own, other]) {
      await eventually(async () => {
        const rows: { type: string }[] = await db.dataSource.query(
          `SELECT type FROM events WHERE stream_id = $1 AND type IN ('HostRegistered', 'InventoryReported')`,
          [`host-${host}`],
        );
        return rows.length === 2 ? true : undefined;
      });
    }
  });

  it('a bind through the API reaches the agent and its answer comes back: Bound', async () => {
    const json = { 'Content-Type': 'application/json' };
    const profile = `perm-${randomUUID().slice(0, 6)}`;
    const created = await fetch(`${apiUrl}/v2/device_profiles`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify([
        { name: profile, groups: [{ 'resources:FPGA': '1', 'trait:CUSTOM_FAKE_DEVICE': 'required' }] },
      ]),
    });
    expect(created.status).toBe(201);
    const arq = await fetch(`${apiUrl}/v2/accelerator_requests`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ device_profile_name: profile }),
    });
    const { uuid } = ((await arq.json()) as { arqs: { uuid: string }[] }).arqs[0];
    const rp = await eventually(async () => {
      const answer = await fetch(`${apiUrl}/v2/deployables?filters.field=name&filters.value=${own}_FakeDevice`);
      return ((await answer.json()) as { deployables: { rp_uuid: string }[] }).deployables[0]?.rp_uuid;
    });
    const bind = await fetch(`${apiUrl}/v2/accelerator_requests`, {
      method: 'PATCH',
      headers: json,
      body: JSON.stringify({
        [uuid]: [
          { path: '/hostname', op: 'add', value: own },
          { path: '/device_rp_uuid', op: 'add', value: rp },
          { path: '/instance_uuid', op: 'add', value: randomUUID() },
        ],
      }),
    });
    expect(bind.status).toBe(202);
    const state = await eventually(async () => {
      const answer = await fetch(`${apiUrl}/v2/accelerator_requests/${uuid}`);
      const { state } = (await answer.json()) as { state: string };
      return state === 'BindStarted' ? undefined : state;
    });
    expect(state).toBe('Bound');
  });

  it("an agent's user cannot register, report or send heartbeats for another host: permission violation", async () => {
    const before = await eventCount();
    const agent = await as(`agent-${own}`);
    const caller = { roles: ['service'], service: true };
    const devices = [fakeDevice(other)];
    const forged = {
      [hostCommandSubject(ConductorCommands.registerHost, other)]: {
        commandId: randomUUID(),
        caller,
        hostname: other,
        drivers: ['fake'],
        agentVersion: '0.1.0',
      },
      [hostCommandSubject(ConductorCommands.reportInventory, other)]: {
        commandId: randomUUID(),
        caller,
        hostname: other,
        generation: Date.now() * 1000,
        inventoryHash: inventoryHash({ hostname: other, devices }),
        devices,
      },
      [hostCommandSubject(ConductorCommands.heartbeat, other)]: { hostname: other },
    };
    for (const [subject, payload] of Object.entries(forged)) {
      expect(await publishRefused(agent, subject, payload)).toMatch(
        new RegExp(`Permissions Violation for Publish to "?${subject.replace(/\./g, '\\.')}`),
      );
    }
    expect(await eventCount()).toBe(before);
  });

  it("an agent's user cannot act as the conductor or the API, nor send work to another agent", async () => {
    const agent = await as(`agent-${own}`);
    for (const subject of [
      conductorSubject(ConductorCommands.createDeviceProfile),
      conductorSubject(ConductorCommands.bindArqs),
      agentSubject(other, AgentWork.bind),
      agentSubject(own, AgentWork.bind),
      'cyborg.events.host.HostRegistered',
      '$JS.API.STREAM.INFO.CYBORG_EVENTS',
    ]) {
      expect(await publishRefused(agent, subject, {})).toMatch(/Permissions Violation for Publish/);
    }
  });

  it("an agent's user cannot read another host's work, the conductor's requests or other services' replies", async () => {
    const agent = await as(`agent-${own}`);
    for (const subject of [
      `cyborg.agent.${other}.>`,
      'cyborg.conductor.>',
      '_INBOX.>',
      `_INBOX_AGENT.${other}.>`,
      '>',
    ]) {
      expect(await subscriptionRefused(agent, subject)).toMatch(/Permissions Violation for Subscription/);
    }
  });

  it("the API's user cannot speak for an agent", async () => {
    const api = await as('api');
    expect(
      await publishRefused(api, hostCommandSubject(ConductorCommands.reportInventory, own), { hostname: own }),
    ).toMatch(/Permissions Violation for Publish/);
  });

  it("the conductor's user anchors the log in JetStream; an agent's user cannot publish an anchor", async () => {
    const jsm = await jetstreamManager(await as('conductor'));
    await eventually(async () => {
      const stored = await jsm.streams.getMessage(ANCHORS_STREAM, { last_by_subj: ANCHORS_SUBJECT });
      const anchor = stored?.json<LogAnchor>();
      return anchor && anchor.events === (await eventCount()) ? anchor : undefined;
    }, 60_000);
    expect(await publishRefused(await as(`agent-${own}`), ANCHORS_SUBJECT, { events: 1 })).toMatch(
      /Permissions Violation for Publish/,
    );
  });

  it('a wrong password is refused at connect', async () => {
    const error = await connect({
      servers: `127.0.0.1:${nats.port}`,
      user: `agent-${own}`,
      pass: 'not-the-password',
      maxReconnectAttempts: 0,
    }).then(
      (nc) => nc.close().then(() => null),
      (e: unknown) => e,
    );
    expect(String(error)).toMatch(/Authorization Violation/i);
  });
});
