import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { v3 as uuidV3 } from 'uuid';
import { parseDocument } from 'yaml';
import { loadSettings, type RunningService } from '@cyborg/config';
import {
  agentSubject,
  AgentWork,
  type CommandReply,
  hostCommandSubject,
  ConductorCommands,
  eventSchemas,
  type CyborgEvent,
  type ReportInventoryResult,
} from '@cyborg/contracts';
import { createDrivers, discoverHost, type DiscoveredDevice, inventoryHash } from '@cyborg/drivers';
import { EventStore, EventTypeRegistry } from '@cyborg/event-store';
import { MessagingModule, RpcClient, RpcFailure } from '@cyborg/messaging';
import { inventoryProjection, Projections } from '@cyborg/projections';
import { startAgent } from '../../apps/agent/src/start';
import { startApi } from '../../apps/api/src/start';
import { startConductor } from '../../apps/conductor/src/start';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { quietLogger } from '../support/logger';
import { TestNatsServer } from '../support/nats-server';

/**
 * Inventory end to end: two hosts' agents discover with the fake and
 * simulated drivers → report_inventory → host-stream events → read models →
 * `GET /v2/devices` and `/v2/deployables` (Cyborg §7, §8).
 */
let db: TestDatabase;
let nats: TestNatsServer;
let dir: string;
let api: string;
let client: INestApplicationContext;
let rpc: RpcClient;
let store: EventStore<CyborgEvent>;
const services = new Map<string, RunningService>();
const hosts = [`inv-a-${randomUUID().slice(0, 6)}`, `inv-b-${randomUUID().slice(0, 6)}`];
const [hostA, hostB] = hosts;
const hostFile = (hostname: string) => join(dir, `${hostname}.yaml`);

// The example host: gpu0, gpu1, fpga0, nic0 (PF + 8 VFs), qat0, nvme0; plus the fake FPGA.
const DEVICES_PER_HOST = 7;
// fake 1, gpu0 1, gpu1 1, fpga0 PF + 4 VFs, nic0 PF + 8 VFs, qat0 1, nvme0 1.
const DEPLOYABLES_PER_HOST = 19;
const NIC_VFS = 8;

interface Device {
  uuid: string;
  type: string;
  vendor: string;
  model: string;
  std_board_info: string | null;
  vendor_board_info: string | null;
  hostname: string;
  status?: string;
  created_at: string;
  updated_at: string | null;
  links: { href: string; rel: string }[];
}

interface Deployable {
  uuid: string;
  parent_id: number | null;
  root_id: number | null;
  name: string;
  num_accelerators: number;
  device_id: number;
  attributes_list: string;
  rp_uuid: string;
  driver_name: string | null;
  bitstream_id: string | null;
  created_at: string;
  updated_at: string | null;
  links: { href: string; rel: string }[];
}

function settingsFor(extra: Record<string, string> = {}) {
  return loadSettings({
    DATABASE_URL: db.url,
    NATS_URL: nats.url,
    API_PORT: '0',
    API_HOST: '127.0.0.1',
    PROJECTION_POLL_MS: '50',
    RPC_TIMEOUT_MS: '5000',
    ...extra,
  });
}

const agentSettings = (hostname: string) =>
  settingsFor({
    AGENT_HOSTNAME: hostname,
    AGENT_DRIVERS: 'fake,simulated',
    AGENT_SIMULATED_HOST_FILE: hostFile(hostname),
    // Reports in this test are forced; the timer must not race them.
    AGENT_REPORT_INTERVAL_MS: '600000',
  });

async function get<T>(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: T }> {
  const response = await fetch(`${api}${path}`, { headers });
  return { status: response.status, body: (await response.json()) as T };
}

function fault(body: unknown): string {
  return (JSON.parse((body as { error_message: string }).error_message) as { faultstring: string }).faultstring;
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

const reportNow = (hostname: string) =>
  rpc.request<ReportInventoryResult>(
    agentSubject(hostname, AgentWork.reportNow),
    { reason: 'test' },
    { timeoutMs: 10_000 },
  );

const hostDevices = async (hostname: string) =>
  (await get<{ devices: Device[] }>(`/v2/devices?hostname=${hostname}`)).body.devices;

const hostDeployables = async (hostname: string) =>
  (await get<{ deployables: Deployable[] }>('/v2/deployables')).body.deployables.filter((d) =>
    d.name.startsWith(`${hostname}_`),
  );

/** The host's VF deployables under the NIC's PF, waiting until the API shows `count` of them. */
async function nicVfs(hostname: string, count: number): Promise<Deployable[]> {
  return eventually(async () => {
    const vfs = (await hostDeployables(hostname)).filter(
      (d) => d.name.startsWith(`${hostname}_0000:86:`) && d.parent_id !== null,
    );
    return vfs.length === count ? vfs : undefined;
  });
}

/** Edits a host's simulated-host file the way an operator would, comments kept. */
async function editHost(hostname: string, edit: (doc: ReturnType<typeof parseDocument>) => void): Promise<void> {
  const doc = parseDocument(await readFile(hostFile(hostname), 'utf8'));
  edit(doc);
  await writeFile(hostFile(hostname), String(doc));
}

/**
 * The last position written to the log. Not `EventStore.head()`: that hides
 * events behind any transaction still open in the cluster (other test files'
 * too), so it can move later without anything being appended.
 */
async function logHead(): Promise<number> {
  const rows: { head: string }[] = await db.dataSource.query(`SELECT coalesce(max(position), 0) AS head FROM events`);
  return Number(rows[0].head);
}

async function eventsSince(hostname: string, version: number) {
  return store.readStream(`host-${hostname}`, { fromVersion: version });
}

/** Every read-model row, as text: what a rebuild must reproduce byte for byte. */
async function dumpInventory(): Promise<string> {
  const tables = ['devices', 'deployables', 'attach_handles', 'attributes'];
  const dumps = await Promise.all(
    tables.map((t) => db.dataSource.query(`SELECT to_jsonb(t)::text AS row FROM ${t} t ORDER BY id`)),
  );
  return JSON.stringify(dumps.map((rows: { row: string }[]) => rows.map((r) => r.row)));
}

beforeAll(async () => {
  db = await createTestDatabase();
  nats = await TestNatsServer.start();
  dir = await mkdtemp(join(tmpdir(), 'cyborg-inventory-'));
  const example = await readFile(new URL('../../deploy/simulated-host.yaml', import.meta.url), 'utf8');
  for (const hostname of hosts) await writeFile(hostFile(hostname), example);

  services.set('conductor', await startConductor(settingsFor(), quietLogger));
  const started = await startApi(settingsFor(), quietLogger);
  api = started.url;
  services.set('api', started);
  for (const hostname of hosts) services.set(hostname, await startAgent(agentSettings(hostname), quietLogger));

  client = await NestFactory.createApplicationContext(
    MessagingModule.forRoot({ servers: nats.url, name: 'inventory-test-client', defaultTimeoutMs: 10_000 }),
    { logger: false },
  );
  await client.init();
  rpc = client.get(RpcClient);
  store = new EventStore(db.dataSource, EventTypeRegistry.from(eventSchemas));

  // Each agent reports once it has registered; wait until the API shows both hosts.
  for (const hostname of hosts) {
    await eventually(async () => ((await hostDevices(hostname)).length === DEVICES_PER_HOST ? true : undefined));
    await eventually(async () =>
      (await hostDeployables(hostname)).length === DEPLOYABLES_PER_HOST ? true : undefined,
    );
  }
});

afterAll(async () => {
  await client?.close();
  for (const service of [...services.values()].reverse()) await service.close();
  await nats?.destroy();
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('discovery to the API', () => {
  it("records each host's report as events on its host stream", async () => {
    for (const hostname of hosts) {
      const types = (await eventsSince(hostname, 0)).map((e) => e.type);
      expect(types[0]).toBe('HostRegistered');
      expect(types.filter((t) => t === 'DeviceAdded')).toHaveLength(DEVICES_PER_HOST);
      expect(types.filter((t) => t === 'InventoryReported')).toHaveLength(1);
      expect(types[types.length - 1]).toBe('InventoryReported');
    }
  });

  it("lists both hosts' devices, filtered by hostname, type and vendor", async () => {
    const all = (await get<{ devices: Device[] }>('/v2/devices')).body.devices;
    expect(all).toHaveLength(2 * DEVICES_PER_HOST);
    expect(new Set(all.map((d) => d.hostname))).toEqual(new Set(hosts));

    const nics = (await get<{ devices: Device[] }>('/v2/devices?type=NIC')).body.devices;
    expect(nics.map((d) => d.hostname).sort()).toEqual([...hosts].sort());
    const fakes = (await get<{ devices: Device[] }>(`/v2/devices?vendor=0xABCD&hostname=${hostB}`)).body.devices;
    expect(fakes).toHaveLength(1);
    expect(fakes[0]).toEqual({
      uuid: expect.any(String),
      type: 'FPGA',
      vendor: '0xABCD',
      model: 'miss model info',
      std_board_info: '{"device_id": "0xabcd", "class": "Fake class"}',
      vendor_board_info: 'fake_vendor_info',
      hostname: hostB,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$/),
      updated_at: null,
      links: [{ href: expect.stringMatching(new RegExp(`/accelerator/v2/devices/${fakes[0].uuid}$`)), rel: 'self' }],
    });
    expect((await get<{ devices: Device[] }>('/v2/devices?type=fake_type')).body.devices).toEqual([]);
  });

  it('shows one device, with its status only from microversion 2.3', async () => {
    const [device] = await hostDevices(hostA);
    const at20 = await get<Device>(`/v2/devices/${device.uuid}`);
    expect(at20.status).toBe(200);
    expect(at20.body).toEqual(device);
    expect(at20.body).not.toHaveProperty('status');
    const at23 = await get<Device>(`/v2/devices/${device.uuid}`, { 'OpenStack-API-Version': 'accelerator 2.3' });
    expect(at23.body.status).toBe('enabled');
  });

  it("answers unknown devices and unknown query parameters in Cyborg's words", async () => {
    const missing = randomUUID();
    const notFound = await get<unknown>(`/v2/devices/${missing}`);
    expect(notFound.status).toBe(404);
    expect(fault(notFound.body)).toBe(`Device not found with uuid=${missing}`);
    const unknown = await get<unknown>('/v2/devices?sort_dir=asc');
    expect(unknown.status).toBe(400);
    expect(fault(unknown.body)).toBe('Unknown argument: "sort_dir"');
  });

  it("shows deployables with the device → PF → VF tree and upstream's resource provider uuids", async () => {
    for (const hostname of hosts) {
      const deployables = await hostDeployables(hostname);
      const pf = deployables.find((d) => d.name === `${hostname}_0000:86:00.0`)!;
      expect(pf).toMatchObject({ parent_id: null, root_id: null, num_accelerators: 0, driver_name: 'intel' });
      const [{ id: pfId }] = await db.dataSource.query(`SELECT id FROM deployables WHERE uuid = $1`, [pf.uuid]);

      const vfs = await nicVfs(hostname, NIC_VFS);
      for (const vf of vfs) {
        expect(vf).toMatchObject({
          parent_id: Number(pfId),
          root_id: Number(pfId),
          device_id: pf.device_id,
          num_accelerators: 1,
        });
        expect(vf.attributes_list).toBe(
          '[{"rc": "CUSTOM_NIC"}, {"trait0": "CUSTOM_VF"}, {"trait1": "CUSTOM_PHYSNET1"}]',
        );
      }
      for (const d of deployables) expect(d.rp_uuid).toBe(uuidV3(d.name, uuidV3.DNS));

      const fake = deployables.find((d) => d.name === `${hostname}_FakeDevice`)!;
      expect(fake).toEqual({
        uuid: expect.any(String),
        parent_id: null,
        root_id: null,
        name: `${hostname}_FakeDevice`,
        num_accelerators: 16,
        device_id: expect.any(Number),
        attributes_list: '[{"traits1": "CUSTOM_FAKE_DEVICE"}, {"rc": "FPGA"}]',
        rp_uuid: uuidV3(`${hostname}_FakeDevice`, uuidV3.DNS),
        driver_name: 'fake',
        bitstream_id: null,
        created_at: expect.any(String),
        updated_at: null,
        links: [
          { href: expect.stringMatching(new RegExp(`/accelerator/v2/deployables/${fake.uuid}$`)), rel: 'self' },
          { href: expect.stringMatching(new RegExp(`/accelerator/deployables/${fake.uuid}$`)), rel: 'bookmark' },
        ],
      });
    }
  });

  it('shows one deployable, filters by name, and refuses a path that is not a uuid', async () => {
    const [fake] = (await hostDeployables(hostA)).filter((d) => d.name.endsWith('_FakeDevice'));
    expect((await get<Deployable>(`/v2/deployables/${fake.uuid}`)).body).toEqual(fake);
    const byName = await get<{ deployables: Deployable[] }>(
      `/v2/deployables?filters.field=name&filters.value=${fake.name}`,
    );
    expect(byName.body.deployables).toEqual([fake]);

    const notUuid = await get<unknown>('/v2/deployables/not-a-uuid');
    expect(notUuid.status).toBe(400);
    expect(fault(notUuid.body)).toContain('Expected a uuid but received not-a-uuid.');
    const missing = randomUUID();
    const notFound = await get<unknown>(`/v2/deployables/${missing}`);
    expect(notFound.status).toBe(404);
    expect(fault(notFound.body)).toBe(`Deployable not found with uuid=${missing}`);
    expect((await get<unknown>('/v2/deployables?hostname=x')).status).toBe(400);
  });

  it("lists a deployable's attributes by its integer id", async () => {
    const [fake] = (await hostDeployables(hostA)).filter((d) => d.name.endsWith('_FakeDevice'));
    const [{ id }] = await db.dataSource.query(`SELECT id FROM deployables WHERE uuid = $1`, [fake.uuid]);
    const { body } = await get<{ attributes: { key: string; value: string; deployable_id: number }[] }>(
      `/v2/attributes?deployable_id=${id}`,
    );
    expect(body.attributes.map((a) => [a.key, a.value, a.deployable_id])).toEqual([
      ['traits1', 'CUSTOM_FAKE_DEVICE', Number(id)],
      ['rc', 'FPGA', Number(id)],
    ]);
  });
});

describe('later reports', () => {
  it('append nothing while the hosts are unchanged', async () => {
    const before = await logHead();
    for (const hostname of hosts) {
      const result = await reportNow(hostname);
      expect(result).toMatchObject({ hostname, changed: false, events: 0 });
    }
    expect(await logHead()).toEqual(before);
  });

  it('remove a device that vanished from the host, and only from that host', async () => {
    const qat = (await hostDevices(hostA)).find((d) => d.type === 'QAT')!;
    const version = await store.streamVersion(`host-${hostA}`);
    await editHost(hostA, (doc) => {
      const devices = doc.get('devices') as { items: { get(key: string): unknown }[] };
      devices.items = devices.items.filter((item) => item.get('id') !== 'qat0');
    });

    expect(await reportNow(hostA)).toMatchObject({ changed: true });
    const events = await eventsSince(hostA, version);
    expect(events.map((e) => e.type)).toEqual([
      'AttachHandleRemoved',
      'AttributeRemoved',
      'DeployableRemoved',
      'DeviceRemoved',
      'InventoryReported',
    ]);
    expect(events[3].data).toMatchObject({ uuid: qat.uuid, controlPath: 'PCI:0000:3d:00.0' });

    await eventually(async () => ((await get<unknown>(`/v2/devices/${qat.uuid}`)).status === 404 ? true : undefined));
    expect(await hostDevices(hostA)).toHaveLength(DEVICES_PER_HOST - 1);
    expect(await hostDevices(hostB)).toHaveLength(DEVICES_PER_HOST);
    expect((await hostDeployables(hostA)).some((d) => d.name === `${hostA}_0000:3d:00.0`)).toBe(false);
  });

  it('follow a VF count change with the VF deployables and their attach handles', async () => {
    const version = await store.streamVersion(`host-${hostA}`);
    await editHost(hostA, (doc) => doc.setIn(['faults', 'devices', 'nic0'], doc.createNode({ vfs: '4' })));

    expect(await reportNow(hostA)).toMatchObject({ changed: true });
    const types = (await eventsSince(hostA, version)).map((e) => e.type);
    expect(types.filter((t) => t === 'DeployableRemoved')).toHaveLength(NIC_VFS - 4);
    expect(types.filter((t) => t === 'AttachHandleRemoved')).toHaveLength(NIC_VFS - 4);
    expect(types.filter((t) => t.endsWith('Added'))).toEqual([]);

    const vfs = await nicVfs(hostA, 4);
    expect(vfs.map((d) => d.name).sort()).toEqual([0, 1, 2, 3].map((fn) => `${hostA}_0000:86:02.${fn}`));
    const handles = await db.dataSource.query(
      `SELECT count(*)::int AS n FROM attach_handles WHERE deployable_uuid = ANY($1::uuid[])`,
      [vfs.map((d) => d.uuid)],
    );
    expect(handles[0].n).toBe(4);
    await nicVfs(hostB, NIC_VFS);

    await editHost(hostA, (doc) => doc.setIn(['faults', 'devices', 'nic0'], doc.createNode({ vfs: '6' })));
    await reportNow(hostA);
    await nicVfs(hostA, 6);
  });

  it("keep a driver's devices while its discovery fails, rather than report them gone", async () => {
    const before = await logHead();
    const text = await readFile(hostFile(hostB), 'utf8');
    await writeFile(hostFile(hostB), `${text}\n  - this: [is not yaml\n`);
    try {
      expect(await reportNow(hostB)).toMatchObject({ changed: false, events: 0 });
      expect(await logHead()).toEqual(before);
    } finally {
      await writeFile(hostFile(hostB), text);
    }
  });

  it('append nothing when an agent restarts on an unchanged host', async () => {
    const before = await logHead();
    await services.get(hostA)!.close();
    services.set(hostA, await startAgent(agentSettings(hostA), quietLogger));
    expect(await reportNow(hostA)).toMatchObject({ changed: false, events: 0 });
    expect(await logHead()).toEqual(before);
  });

  it('rebuild into the same rows, byte for byte', async () => {
    const projections = new Projections([inventoryProjection], store, {
      dataSource: db.dataSource,
      databaseUrl: db.url,
    });
    const before = await dumpInventory();
    await projections.rebuild('inventory');
    await eventually(async () => ((await dumpInventory()) === before ? true : undefined));
  });
});

describe('the conductor', () => {
  const caller = { roles: ['service'], service: true };
  const send = (command: Record<string, unknown>) =>
    rpc.request<CommandReply<ReportInventoryResult>>(
      hostCommandSubject(ConductorCommands.reportInventory, command.hostname as string),
      { commandId: randomUUID(), caller, ...command },
    );
  const snapshot = (hostname: string, devices: DiscoveredDevice[]) => ({
    hostname,
    inventoryHash: inventoryHash({ hostname, devices }),
    devices,
  });
  /** What the host's agent would report now. */
  async function discovered(hostname: string): Promise<DiscoveredDevice[]> {
    const drivers = createDrivers(['fake', 'simulated'], { hostname, simulatedHostFile: hostFile(hostname) });
    return (await discoverHost(hostname, drivers)).inventory.devices;
  }

  it('refuses a report older than the recorded one, and the agent continues above it', async () => {
    const devices = await discovered(hostB);
    const withoutFake = devices.filter((d) => d.driverName !== 'fake');
    const ahead = Number.MAX_SAFE_INTEGER - 1000;
    expect((await send({ ...snapshot(hostB, withoutFake), generation: ahead })).result).toMatchObject({
      changed: true,
      generation: ahead,
    });

    const stale = await send({ ...snapshot(hostB, devices), generation: 1 }).catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(RpcFailure);
    expect(stale).toMatchObject({
      status: 409,
      code: 'stale_inventory_report',
      details: { recordedGeneration: ahead },
    });

    // The agent's own clock is behind the recorded generation: it is told so and reports above it.
    expect(await reportNow(hostB)).toMatchObject({ changed: true, generation: ahead + 1 });
    await eventually(async () => ((await hostDevices(hostB)).length === DEVICES_PER_HOST ? true : undefined));
  });

  it("refuses a hash that is not the devices' own", async () => {
    const refusal = await send({
      hostname: hostB,
      generation: Number.MAX_SAFE_INTEGER,
      inventoryHash: 'a'.repeat(64),
      devices: [],
    }).catch((e: unknown) => e);
    expect(refusal).toMatchObject({ status: 400, code: 'inventory_hash_mismatch' });
  });

  it('refuses a malformed snapshot with the fields at fault', async () => {
    const devices = await discovered(hostB);
    const bad = [{ ...devices[0], type: 'TPU', controlPathId: { type: 'PCI', info: { domain: 'zz' } } }];
    const refusal = await send({ hostname: hostB, generation: 1, inventoryHash: 'a'.repeat(64), devices: bad }).catch(
      (e: unknown) => e,
    );
    expect(refusal).toMatchObject({ status: 400, code: 'invalid_message' });
    expect((refusal as Error).message).toMatch(/devices\.0\.type/);
    expect((refusal as Error).message).toMatch(/devices\.0\.controlPathId\.info\.domain/);
  });

  it('refuses a report from a host that never registered', async () => {
    const refusal = await send({ ...snapshot('never-registered', []), generation: 1 }).catch((e: unknown) => e);
    expect(refusal).toMatchObject({ status: 409, code: 'host_not_registered' });
  });

  it('answers a replayed report as the first time, appending nothing more', async () => {
    const hostname = `inv-c-${randomUUID().slice(0, 6)}`;
    await rpc.request(hostCommandSubject(ConductorCommands.registerHost, hostname), {
      commandId: randomUUID(),
      caller,
      hostname,
      drivers: ['fake'],
      agentVersion: '0.1.0',
    });
    const command = {
      commandId: randomUUID(),
      caller,
      generation: 1,
      ...snapshot(hostname, await discovered(hostname)),
    };
    const subject = hostCommandSubject(ConductorCommands.reportInventory, hostname);
    const first = await rpc.request<CommandReply<ReportInventoryResult>>(subject, command);
    const version = await store.streamVersion(`host-${hostname}`);
    const replay = await rpc.request<CommandReply<ReportInventoryResult>>(subject, command);
    expect(replay).toEqual(first);
    expect(await store.streamVersion(`host-${hostname}`)).toBe(version);
  });
});
