import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { v3 as uuidV3 } from 'uuid';
import { parseDocument } from 'yaml';
import { loadSettings, type RunningService } from '@cyborg/config';
import { agentSubject, AgentWork, conductorSubject, ConductorCommands, type ReportInventoryResult } from '@cyborg/contracts';
import { EventStore, EVENTS_STREAM } from '@cyborg/event-store';
import { connectNats, MessagingModule, RpcClient } from '@cyborg/messaging';
import { PlacementSyncStatusStore } from '@cyborg/placement';
import { startAgent } from '../../apps/agent/src/start';
import { startApi } from '../../apps/api/src/start';
import { startConductor } from '../../apps/conductor/src/start';
import { PLACEMENT_SYNC_CONSUMER } from '../../apps/placement-sync/src/placement-sync.service';
import { type RunningPlacementSync, startPlacementSync } from '../../apps/placement-sync/src/start';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { quietLogger } from '../support/logger';
import { TestNatsServer } from '../support/nats-server';
import { CountingProxy, PLACEMENT_START_TIMEOUT_MS, TestPlacement } from '../support/placement';

/**
 * placement-sync end to end: an agent (fake + simulated drivers) reports
 * its host, the conductor records host events, the relay puts them on
 * JetStream, and placement-sync keeps a real Placement 8.0 equal to them.
 * Placement is reached through a counting proxy, so the calls it makes can
 * be counted; the test itself talks to Placement directly, as Nova or an
 * operator would.
 */
let db: TestDatabase;
let nats: TestNatsServer;
let placement: TestPlacement;
let proxy: CountingProxy;
let dir: string;
let client: INestApplicationContext;
let rpc: RpcClient;
let store: EventStore;
let statuses: PlacementSyncStatusStore;
let sync: RunningPlacementSync;
let computeNode: string;
const services: RunningService[] = [];
const host = `pl-${randomUUID().slice(0, 8)}`;
const hostFile = () => join(dir, `${host}.yaml`);

function settingsFor(extra: Record<string, string> = {}) {
  return loadSettings({
    DATABASE_URL: db.url,
    NATS_URL: nats.url,
    PROJECTION_POLL_MS: '50',
    RPC_TIMEOUT_MS: '5000',
    AGENT_HOSTNAME: host,
    AGENT_DRIVERS: 'fake,simulated',
    AGENT_SIMULATED_HOST_FILE: hostFile(),
    // Reports in this test are forced; the timer must not race them.
    AGENT_REPORT_INTERVAL_MS: '600000',
    PLACEMENT_URL: proxy.url,
    // Reconciles are started by the tests, except where the timer is the point.
    PLACEMENT_RECONCILE_INTERVAL_MS: '600000',
    PLACEMENT_RETRY_MAX_MS: '300',
    ...extra,
  });
}

async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`condition not met in time${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const reportNow = () =>
  rpc.request<ReportInventoryResult>(
    agentSubject(host, AgentWork.reportNow),
    { reason: 'test' },
    { timeoutMs: 10_000 },
  );

/** Edits the host's simulated-host file the way an operator would. */
async function editHost(edit: (doc: ReturnType<typeof parseDocument>) => void): Promise<void> {
  const doc = parseDocument(await readFile(hostFile(), 'utf8'));
  edit(doc);
  await writeFile(hostFile(), String(doc));
}

async function setDevicePresent(id: string, present: boolean): Promise<void> {
  await editHost((doc) => doc.setIn(['faults', 'devices', id, 'present'], present));
}

// The host as the test shapes it; the providers Placement must then hold.
interface HostShape {
  gpu0: boolean;
  vgpus: number;
  fpga0: boolean;
  nicVfs: number;
  qat0: boolean;
  nvme0: boolean;
}

interface ProviderView {
  uuid: string;
  rc: string;
  total: number;
  reserved: number;
  maxUnit: number;
  traits: string[];
}

const name = (suffix: string) => `${host}_${suffix}`;
const rpUuid = (providerName: string) => uuidV3(providerName, uuidV3.DNS);

function expectedProviders(shape: HostShape): Map<string, Omit<ProviderView, 'uuid'>> {
  const expected = new Map<string, Omit<ProviderView, 'uuid'>>();
  const add = (n: string, rc: string, total: number, traits: string[]) =>
    expected.set(name(n), { rc, total, reserved: 0, maxUnit: total, traits: [...traits, 'OWNER_CYBORG'].sort() });
  add('FakeDevice', 'FPGA', 16, ['CUSTOM_FAKE_DEVICE']);
  if (shape.gpu0) add('0000:3b:00.0', 'PGPU', 1, ['CUSTOM_NVIDIA_20B5']);
  add('0000:af:00.0', 'VGPU', shape.vgpus, ['CUSTOM_NVIDIA_1EB8_T4_2B']);
  if (shape.fpga0) {
    for (let f = 1; f <= 4; f++) {
      add(`0000:5e:00.${f}`, 'FPGA', 1, [
        'CUSTOM_FPGA_INTEL',
        'CUSTOM_FPGA_INTEL_PAC_ARRIA10',
        'CUSTOM_FPGA_REGION_INTEL_9926AB6D6C925A68AABCA7D84C545738',
      ]);
    }
  }
  for (let i = 0; i < shape.nicVfs; i++) {
    add(`0000:86:0${2 + Math.floor(i / 8)}.${i % 8}`, 'CUSTOM_NIC', 1, ['CUSTOM_PHYSNET1', 'CUSTOM_VF']);
  }
  if (shape.qat0) add('0000:3d:00.0', 'CUSTOM_QAT', 1, []);
  if (shape.nvme0) add('0000:d8:00.0', 'CUSTOM_SSD', 1, ['CUSTOM_SSD_PRODUCT_ID_A808', 'CUSTOM_SSD_SAMSUNG']);
  return expected;
}

const initialShape: HostShape = { gpu0: true, vgpus: 8, fpga0: true, nicVfs: 8, qat0: true, nvme0: true };

/** The compute node's children as Placement holds them, read directly. */
async function providerTree(): Promise<Map<string, ProviderView>> {
  const { body } = await placement.call<{
    resource_providers: { uuid: string; name: string; parent_provider_uuid: string }[];
  }>('GET', `/resource_providers?in_tree=${computeNode}`);
  const tree = new Map<string, ProviderView>();
  for (const p of body.resource_providers.filter((rp) => rp.parent_provider_uuid === computeNode)) {
    tree.set(p.name, await providerView(p.uuid));
  }
  return tree;
}

async function providerView(uuid: string): Promise<ProviderView> {
  const inventories = await placement.call<{
    inventories: Record<string, { total: number; reserved: number; max_unit: number }>;
  }>('GET', `/resource_providers/${uuid}/inventories`);
  const traits = await placement.call<{ traits: string[] }>('GET', `/resource_providers/${uuid}/traits`);
  const [rc, inv] = Object.entries(inventories.body.inventories)[0] ?? ['', { total: 0, reserved: 0, max_unit: 0 }];
  return {
    uuid,
    rc,
    total: inv.total,
    reserved: inv.reserved,
    maxUnit: inv.max_unit,
    traits: [...traits.body.traits].sort(),
  };
}

/** Waits until Placement holds exactly the providers of `shape` (plus `extra` children not ours). */
async function expectTree(shape: HostShape, extra: string[] = []): Promise<Map<string, ProviderView>> {
  const expected = expectedProviders(shape);
  const wanted = JSON.stringify([...expected.entries()].sort());
  return eventually(async () => {
    const tree = await providerTree();
    const ours = [...tree.entries()]
      .filter(([n]) => !extra.includes(n))
      .map(([n, { uuid: _uuid, ...view }]) => [n, view] as const)
      .sort();
    return JSON.stringify(ours) === wanted && extra.every((n) => tree.has(n)) ? tree : undefined;
  });
}

async function hostStatus() {
  return statuses.get(host);
}

/** Waits for placement-sync to have written the host's latest events and gone quiet. */
async function settled(): Promise<void> {
  const version = await store.streamVersion(`host-${host}`);
  await eventually(async () => ((await hostStatus())?.streamVersion === version ? true : undefined));
  await sync.idle();
}

async function allocate(providerUuid: string, resourceClass: string): Promise<string> {
  const consumer = randomUUID();
  const { status } = await placement.call('PUT', `/allocations/${consumer}`, {
    allocations: { [providerUuid]: { resources: { [resourceClass]: 1 } } },
    project_id: 'project',
    user_id: 'user',
    consumer_generation: null,
    consumer_type: 'INSTANCE',
  });
  expect(status).toBe(204);
  return consumer;
}

// The first start on a machine installs python3-placement with apt-get.
beforeAll(async () => {
  db = await createTestDatabase();
  nats = await TestNatsServer.start();
  placement = await TestPlacement.start();
  proxy = await CountingProxy.start(placement.url);
  dir = await mkdtemp(join(tmpdir(), 'cyborg-placement-sync-'));
  await writeFile(hostFile(), await readFile(new URL('../../deploy/simulated-host.yaml', import.meta.url), 'utf8'));

  services.push(await startConductor(settingsFor(), quietLogger));
  sync = await startPlacementSync(settingsFor(), quietLogger);
  await sync.ready();
  services.push(await startAgent(settingsFor(), quietLogger));
  client = await NestFactory.createApplicationContext(
    MessagingModule.forRoot({ servers: nats.url, name: 'placement-sync-test-client', defaultTimeoutMs: 10_000 }),
    { logger: false },
  );
  await client.init();
  rpc = client.get(RpcClient);
  store = new EventStore(db.dataSource);
  statuses = new PlacementSyncStatusStore(db.dataSource);
}, PLACEMENT_START_TIMEOUT_MS);

afterAll(async () => {
  await client?.close();
  await sync?.close();
  for (const service of services.reverse()) await service.close();
  await proxy?.stop();
  await placement?.stop();
  await nats?.destroy();
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('registration', () => {
  it("waits, without failing, until Nova has created the host's compute node", async () => {
    const waiting = await eventually(async () => {
      const status = await hostStatus();
      return status?.state === 'waiting_for_compute_node' ? status : undefined;
    });
    expect(waiting).toMatchObject({ computeNodeUuid: null, providers: 0, lastError: null });
    expect(waiting.streamVersion).toBeGreaterThan(0);
    // Still waiting a few retries later, and nothing was created meanwhile.
    await new Promise((r) => setTimeout(r, 700));
    expect((await hostStatus())?.state).toBe('waiting_for_compute_node');
    expect(proxy.calls.filter((c) => c.method !== 'GET')).toEqual([]);

    // Nova creates the compute node provider, named by the hostname.
    computeNode = randomUUID();
    const created = await placement.call('POST', '/resource_providers', { name: host, uuid: computeNode });
    expect(created.status).toBe(200);
  });

  it('creates one child provider per deployable with accelerators, with its inventory and traits', async () => {
    const tree = await expectTree(initialShape);
    for (const [providerName, view] of tree) expect(view.uuid).toBe(rpUuid(providerName));
    // A PF that only groups its VFs has no provider.
    expect(tree.has(name('0000:5e:00.0'))).toBe(false);
    expect(tree.has(name('0000:86:00.0'))).toBe(false);
    const { body } = await placement.call<{ inventories: Record<string, unknown> }>(
      'GET',
      `/resource_providers/${rpUuid(name('FakeDevice'))}/inventories`,
    );
    expect(body.inventories).toEqual({
      FPGA: { total: 16, reserved: 0, min_unit: 1, max_unit: 16, step_size: 1, allocation_ratio: 1.0 },
    });
  });

  it('records the host as synced at its stream version', async () => {
    await settled();
    const version = await store.streamVersion(`host-${host}`);
    expect(await hostStatus()).toMatchObject({
      state: 'synced',
      computeNodeUuid: computeNode,
      streamVersion: version,
      syncedVersion: version,
      syncedSequence: expect.any(Number),
      providers: expectedProviders(initialShape).size,
      drainingProviders: [],
      lastError: null,
      lastSyncedAt: expect.any(Date),
    });
  });

  it('lets the scheduler find the accelerators: allocation candidates for FPGA:1 and for a physnet VF', async () => {
    const fpga = await placement.call<{ allocation_requests: { allocations: Record<string, unknown> }[] }>(
      'GET',
      '/allocation_candidates?resources=FPGA:1',
    );
    expect(fpga.status).toBe(200);
    const fpgaProviders = fpga.body.allocation_requests.flatMap((r) => Object.keys(r.allocations)).sort();
    const expected = ['FakeDevice', '0000:5e:00.1', '0000:5e:00.2', '0000:5e:00.3', '0000:5e:00.4'];
    expect(fpgaProviders).toEqual(expected.map((n) => rpUuid(name(n))).sort());

    const vfs = await placement.call<{ allocation_requests: unknown[] }>(
      'GET',
      '/allocation_candidates?resources=CUSTOM_NIC:1&required=CUSTOM_PHYSNET1,OWNER_CYBORG',
    );
    expect(vfs.body.allocation_requests).toHaveLength(8);
  });
});

describe('few calls', () => {
  it('an unchanged report makes no Placement call at all, and a reconcile of an unchanged tree one read', async () => {
    await settled();
    const from = proxy.calls.length;
    expect(await reportNow()).toMatchObject({ changed: false, events: 0 });
    await new Promise((r) => setTimeout(r, 300));
    await sync.idle();
    expect(proxy.since(from)).toEqual([]);

    await sync.reconcile();
    expect(proxy.since(from)).toEqual([
      { method: 'GET', path: `/resource_providers?in_tree=${computeNode}`, status: 200 },
    ]);
  });

  it('a new deployable costs at most four calls', async () => {
    await editHost((doc) => doc.setIn(['faults', 'devices', 'nic0'], doc.createNode({ vfs: 9 })));
    const from = proxy.calls.length;
    expect(await reportNow()).toMatchObject({ changed: true });
    await expectTree({ ...initialShape, nicVfs: 9 });
    await settled();
    const calls = proxy.since(from);
    expect(calls.length).toBeLessThanOrEqual(4);
    expect(calls.map((c) => `${c.method} ${c.path.split('/').slice(0, 2).join('/')}`)).toEqual([
      'POST /resource_providers',
      'PUT /resource_providers',
      'PUT /resource_providers',
    ]);
  });
});

describe('concurrent writers', () => {
  it('a generation conflict is met by a re-read and a retry, and ends in the desired state', async () => {
    const vgpu = rpUuid(name('0000:af:00.0'));
    const intruder = 'CUSTOM_CONCURRENT_WRITER';
    await placement.call('PUT', `/traits/${intruder}`);
    // Between placement-sync's read and its inventory write, another writer changes the provider's traits.
    proxy.interceptOnce(
      (method, path) => method === 'PUT' && path === `/resource_providers/${vgpu}/inventories`,
      async () => {
        const { body } = await placement.call<{ resource_provider_generation: number; traits: string[] }>(
          'GET',
          `/resource_providers/${vgpu}/traits`,
        );
        const bumped = await placement.call('PUT', `/resource_providers/${vgpu}/traits`, {
          resource_provider_generation: body.resource_provider_generation,
          traits: [...body.traits, intruder],
        });
        expect(bumped.status).toBe(200);
      },
    );
    const conflictsBefore = sync.counters().conflicts;
    const from = proxy.calls.length;
    await editHost((doc) => doc.setIn(['devices', 1, 'deployables', 0, 'handles', 'instances'], 4));
    await reportNow();

    const tree = await expectTree({ ...initialShape, nicVfs: 9, vgpus: 4 });
    expect(tree.get(name('0000:af:00.0'))?.traits).not.toContain(intruder);
    const writes = proxy.since(from, 'writes').filter((c) => c.path === `/resource_providers/${vgpu}/inventories`);
    expect(writes.map((c) => c.status)).toEqual([409, 200]);
    expect(sync.counters().conflicts).toBe(conflictsBefore + 1);
    await settled();
    expect((await hostStatus())?.state).toBe('synced');
  });
});

describe('device removal', () => {
  let shape: HostShape = { ...initialShape, nicVfs: 9, vgpus: 4 };

  it('deletes the provider of a removed device that nobody uses', async () => {
    await setDevicePresent('qat0', false);
    await reportNow();
    shape = { ...shape, qat0: false };
    await expectTree(shape);
    expect((await placement.call('GET', `/resource_providers/${rpUuid(name('0000:3d:00.0'))}`)).status).toBe(404);
  });

  it('drains a removed provider with allocations (reserved = total) without blocking the rest of the host', async () => {
    const gpu = rpUuid(name('0000:3b:00.0'));
    const consumer = await allocate(gpu, 'PGPU');
    // gpu0 goes while an instance uses it; in the same report qat0 comes back.
    await setDevicePresent('gpu0', false);
    await setDevicePresent('qat0', true);
    await reportNow();

    shape = { ...shape, gpu0: false, qat0: true };
    const tree = await expectTree(shape, [name('0000:3b:00.0')]);
    expect(tree.get(name('0000:3b:00.0'))).toMatchObject({ uuid: gpu, rc: 'PGPU', total: 1, reserved: 1 });
    const draining = await eventually(async () => {
      const status = await hostStatus();
      return status?.state === 'draining' ? status : undefined;
    });
    expect(draining.drainingProviders).toEqual([{ uuid: gpu, name: name('0000:3b:00.0'), consumers: [consumer] }]);

    // The instance goes: the provider follows.
    expect((await placement.call('DELETE', `/allocations/${consumer}`)).status).toBe(204);
    await expectTree(shape);
    await eventually(async () => ((await hostStatus())?.state === 'synced' ? true : undefined));
  });
});

describe('drift', () => {
  const shape: HostShape = { ...initialShape, nicVfs: 9, vgpus: 4, gpu0: false };

  it('a reconcile repairs a deleted provider, a changed inventory, a missing trait and a stale provider', async () => {
    await expectTree(shape);
    await settled();
    // Someone edits Placement by hand.
    const nvme = rpUuid(name('0000:d8:00.0'));
    expect((await placement.call('DELETE', `/resource_providers/${nvme}`)).status).toBe(204);
    const fake = rpUuid(name('FakeDevice'));
    const fakeInventory = await placement.call<{ resource_provider_generation: number }>(
      'GET',
      `/resource_providers/${fake}/inventories`,
    );
    const edited = await placement.call('PUT', `/resource_providers/${fake}/inventories`, {
      resource_provider_generation: fakeInventory.body.resource_provider_generation,
      inventories: { FPGA: { total: 3, reserved: 1, max_unit: 2 } },
    });
    expect(edited.status).toBe(200);
    const vf = rpUuid(name('0000:86:02.0'));
    const vfTraits = await placement.call<{ resource_provider_generation: number; traits: string[] }>(
      'GET',
      `/resource_providers/${vf}/traits`,
    );
    await placement.call('PUT', `/resource_providers/${vf}/traits`, {
      resource_provider_generation: vfTraits.body.resource_provider_generation,
      traits: vfTraits.body.traits.filter((t) => t !== 'CUSTOM_PHYSNET1'),
    });
    // A provider of a device this host no longer has (ours by its uuid3 name), and one that is not ours.
    const stale = name('0000:99:00.0');
    await placement.call('POST', '/resource_providers', {
      name: stale,
      uuid: rpUuid(stale),
      parent_provider_uuid: computeNode,
    });
    const foreign = `${host}_pci_0000_99_00_1`;
    await placement.call('POST', '/resource_providers', {
      name: foreign,
      uuid: randomUUID(),
      parent_provider_uuid: computeNode,
    });

    const from = proxy.calls.length;
    await sync.reconcile();
    const tree = await providerTree();
    expect(tree.has(stale)).toBe(false);
    expect(tree.has(foreign)).toBe(true);
    await expectTree(shape, [foreign]);
    // Only what drifted is written.
    expect(
      proxy
        .since(from, 'writes')
        .map((c) => `${c.method} ${c.path}`)
        .sort(),
    ).toEqual(
      [
        `POST /resource_providers`,
        `PUT /resource_providers/${nvme}/traits`,
        `PUT /resource_providers/${nvme}/inventories`,
        `PUT /resource_providers/${fake}/inventories`,
        `PUT /resource_providers/${vf}/traits`,
        `DELETE /resource_providers/${rpUuid(stale)}`,
      ].sort(),
    );
    expect((await hostStatus())?.state).toBe('synced');
  });
});

describe('restarts', () => {
  it('placement-sync stopped in the middle of a report and restarted ends in the right state', async () => {
    await settled();
    // A report is being written when placement-sync stops.
    await setDevicePresent('nvme0', false);
    await editHost((doc) => doc.setIn(['faults', 'devices', 'nic0'], doc.createNode({ vfs: 3 })));
    const from = proxy.calls.length;
    const report = reportNow();
    await eventually(async () => (proxy.since(from, 'writes').length > 0 ? true : undefined));
    await sync.close();
    await report;

    // More happens while it is down: a report, and a hand edit of Placement.
    await setDevicePresent('fpga0', false);
    await reportNow();
    expect((await placement.call('DELETE', `/resource_providers/${rpUuid(name('FakeDevice'))}`)).status).toBe(204);

    sync = await startPlacementSync(settingsFor({ PLACEMENT_RECONCILE_INTERVAL_MS: '1000' }), quietLogger);
    await sync.ready();
    const shape: HostShape = { gpu0: false, vgpus: 4, fpga0: false, nicVfs: 3, qat0: true, nvme0: false };
    await expectTree(shape, [`${host}_pci_0000_99_00_1`]);
    await settled();
    const version = await store.streamVersion(`host-${host}`);
    expect(await hostStatus()).toMatchObject({ state: 'synced', streamVersion: version, syncedVersion: version });

    // The durable consumer has every event acknowledged.
    const nc = await connectNats(nats.url, 'placement-sync-test');
    try {
      const jsm = await jetstreamManager(nc);
      const info = await eventually(async () => {
        const i = await jsm.consumers.info(EVENTS_STREAM, PLACEMENT_SYNC_CONSUMER);
        return i.num_pending === 0 && i.num_ack_pending === 0 ? i : undefined;
      });
      expect(info.config).toMatchObject({ ack_policy: 'explicit', filter_subject: 'cyborg.events.host.>' });
    } finally {
      await nc.close();
    }

    // The periodic reconcile, on its own, repairs a provider deleted by hand.
    const qat = rpUuid(name('0000:3d:00.0'));
    expect((await placement.call('DELETE', `/resource_providers/${qat}`)).status).toBe(204);
    await expectTree(shape, [`${host}_pci_0000_99_00_1`]);
  });
});

describe('failures', () => {
  const shape: HostShape = { gpu0: false, vgpus: 4, fpga0: false, nicVfs: 2, qat0: true, nvme0: false };

  it('a malformed event message is skipped; a Placement outage is an error that heals when Placement is back', async () => {
    const nc = await connectNats(nats.url, 'placement-sync-test-garbage');
    try {
      await jetstream(nc).publish('cyborg.events.host.Bogus', 'not an event');
    } finally {
      await nc.close();
    }

    proxy.failWith = 503;
    try {
      await editHost((doc) => doc.setIn(['faults', 'devices', 'nic0'], doc.createNode({ vfs: 2 })));
      await reportNow();
      const failed = await eventually(async () => {
        const status = await hostStatus();
        return status?.state === 'error' ? status : undefined;
      });
      expect(failed.lastError).toMatch(/answered 503/);
      expect(failed.lastErrorAt).toEqual(expect.any(Date));
    } finally {
      proxy.failWith = null;
    }
    await expectTree(shape, [`${host}_pci_0000_99_00_1`]);
    await eventually(async () => {
      const status = await hostStatus();
      return status?.state === 'synced' && status.lastError === null ? true : undefined;
    });
    // The bad message was terminated, not left to be redelivered forever.
    const check = await connectNats(nats.url, 'placement-sync-test-consumer');
    try {
      const jsm = await jetstreamManager(check);
      await eventually(async () => {
        const info = await jsm.consumers.info(EVENTS_STREAM, PLACEMENT_SYNC_CONSUMER);
        return info.num_pending === 0 && info.num_ack_pending === 0 ? true : undefined;
      });
    } finally {
      await check.close();
    }
  });

  it('with PLACEMENT_URL unset it starts, touches nothing, and stops', async () => {
    const off = await startPlacementSync(
      loadSettings({ DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', NATS_URL: 'nats://127.0.0.1:1' }),
      quietLogger,
    );
    await off.ready();
    await off.reconcile();
    expect(off.counters()).toEqual({ requests: 0, writes: 0, conflicts: 0 });
    await off.close();
  });
});

describe('maintenance', () => {
  it('reserves a disabled device\'s whole inventory and frees it when enabled again', async () => {
    const fake = rpUuid(name('FakeDevice'));
    const device = (await store.readStream(`host-${host}`)).find(
      (e) => e.type === 'DeviceAdded' && (e.data as { vendor?: string }).vendor === '0xABCD',
    );
    expect(device).toBeDefined();
    const setStatus = (status: 'enabled' | 'maintaining') =>
      rpc.request(conductorSubject(ConductorCommands.setDeviceStatus), {
        commandId: randomUUID(),
        caller: { roles: ['admin'], service: false },
        hostname: host,
        deviceUuid: (device!.data as { uuid: string }).uuid,
        status,
      });

    await setStatus('maintaining');
    expect(await eventually(async () => ((await providerView(fake)).reserved === 16 ? true : undefined))).toBe(true);
    expect((await providerView(fake)).total).toBe(16);
    await setStatus('enabled');
    expect(await eventually(async () => ((await providerView(fake)).reserved === 0 ? true : undefined))).toBe(true);
  });
});

describe('sync status through the API', () => {
  it('shows admins where each host stands, and refuses others', async () => {
    const api = await startApi(settingsFor({ API_PORT: '0', API_HOST: '127.0.0.1' }), quietLogger);
    try {
      const response = await fetch(`${api.url}/v2/placement_sync?hostname=${host}`);
      expect(response.status).toBe(200);
      const body = (await response.json()) as { hosts: { hostname: string; state: string; providers: number }[] };
      expect(body.hosts).toEqual([expect.objectContaining({ hostname: host, state: 'synced' })]);
      expect(body.hosts[0].providers).toBeGreaterThan(0);

      const one = await fetch(`${api.url}/v2/placement_sync/${host}`);
      expect(((await one.json()) as { hostname: string }).hostname).toBe(host);
      expect((await fetch(`${api.url}/v2/placement_sync/no-such-host`)).status).toBe(404);

      const member = await fetch(`${api.url}/v2/placement_sync`, {
        headers: { 'X-User-Id': 'u', 'X-Project-Id': 'p', 'X-Roles': 'member,reader' },
      });
      expect(member.status).toBe(403);
      expect((await fetch(`${api.url}/v2/placement_sync?bogus=1`)).status).toBe(400);
    } finally {
      await api.close();
    }
  });
});
