import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { agentSubject, AgentWork, type ReportInventoryResult, Streams } from '@cyborg/contracts';
import { type RunningPlacementSync, startPlacementSync } from '../../apps/placement-sync/src/start';
import { FakeNova } from '../support/fake-nova';
import { quietLogger } from '../support/logger';
import { PLACEMENT_START_TIMEOUT_MS, TestPlacement } from '../support/placement';
import { TestSystem } from '../support/system';
import { type ArqBody, bindOps, eventually, fault, http, novaFor, unbindOps, unique, userOf } from '../arqs/support';

/**
 * Device health end to end over real NATS, PostgreSQL and Placement: the
 * simulated driver shows a fault, the agent reports it, the conductor
 * records DeviceHealthChanged and fences the device (binds refused with a
 * 409 naming the reason, Placement reserving everything, bound ARQs
 * marked), and recovery un-fences it; with HEALTH_FENCE_STICKY an admin
 * releases it by hand.
 */
let placement: TestPlacement;
let nova: FakeNova;
let system: TestSystem;
let sync: RunningPlacementSync;
const hostname = `health-${randomUUID().slice(0, 6)}`;
const project = 'project-health';
const V23 = { 'OpenStack-API-Version': 'accelerator 2.3' };
const V24 = { 'OpenStack-API-Version': 'accelerator 2.4' };

interface DeviceBody {
  uuid: string;
  model: string;
  hostname: string;
  health?: string;
  health_reasons?: { code: string; message: string; evidence?: Record<string, unknown> }[];
  fenced?: boolean;
  [key: string]: unknown;
}

const call = <T = unknown>(
  s: TestSystem,
  method: string,
  path: string,
  options: { json?: unknown; headers?: Record<string, string> } = {},
) => http<T>(s.apiUrl, method, path, options);

/** Sets a simulated device's health faults in the host file, as an operator or a test would, and reports. */
async function setHealth(
  s: TestSystem,
  host: string,
  faults: Record<string, string[]>,
): Promise<ReportInventoryResult> {
  const doc = parseDocument(await readFile(s.hostFile, 'utf8'));
  for (const [id, health] of Object.entries(faults)) doc.setIn(['faults', 'devices', id, 'health'], health);
  await writeFile(s.hostFile, String(doc));
  return s.rpc.request<ReportInventoryResult>(agentSubject(host, AgentWork.reportNow), {}, { timeoutMs: 10_000 });
}

async function device(
  s: TestSystem,
  host: string,
  model: string,
  headers: Record<string, string> = V24,
): Promise<DeviceBody> {
  const { body } = await call<{ devices: DeviceBody[] }>(s, 'GET', `/v2/devices?hostname=${host}`, { headers });
  const found = body.devices.find((d) => d.model === model);
  if (!found) throw new Error(`no device ${model} on ${host}`);
  return found;
}

/** Waits for the read model to show the device with this health. */
const deviceWithHealth = (s: TestSystem, host: string, model: string, health: string) =>
  eventually(async () => {
    const d = await device(s, host, model);
    return d.health === health ? d : undefined;
  });

async function deployableRp(s: TestSystem, name: string): Promise<string> {
  return eventually(async () => {
    const { body } = await call<{ deployables: { name: string; rp_uuid: string }[] }>(
      s,
      'GET',
      `/v2/deployables?filters.field=name&filters.value=${name}`,
    );
    return body.deployables[0]?.rp_uuid;
  });
}

async function createArq(s: TestSystem, groups: Record<string, string>[]): Promise<string> {
  const name = unique('dp');
  expect((await call(s, 'POST', '/v2/device_profiles', { json: [{ name, groups }] })).status).toBe(201);
  const created = await call<{ arqs: ArqBody[] }>(s, 'POST', '/v2/accelerator_requests', {
    json: { device_profile_name: name },
    headers: userOf(project),
  });
  expect(created.status).toBe(201);
  return created.body.arqs[0].uuid;
}

const bind = (s: TestSystem, host: string, arq: string, rp: string) =>
  call(s, 'PATCH', '/v2/accelerator_requests', {
    json: { [arq]: bindOps(host, rp, randomUUID()) },
    headers: novaFor(project),
  });

const getArq = (s: TestSystem, uuid: string, headers: Record<string, string> = {}) =>
  call<ArqBody>(s, 'GET', `/v2/accelerator_requests/${uuid}`, { headers: { ...userOf(project), ...headers } });

const resolved = (s: TestSystem, uuid: string) =>
  eventually(async () => {
    const { body } = await getArq(s, uuid);
    return body.state === 'Bound' || body.state === 'BindFailed' ? body : undefined;
  });

async function reservedInPlacement(rp: string): Promise<{ total: number; reserved: number }> {
  const { body } = await placement.call<{ inventories: Record<string, { total: number; reserved: number }> }>(
    'GET',
    `/resource_providers/${rp}/inventories`,
  );
  const [inventory] = Object.values(body.inventories ?? {});
  return inventory;
}

/** Waits until Placement holds the provider with this many reserved. */
const placementReserves = (rp: string, reserved: number) =>
  eventually(async () => {
    const inventory = await reservedInPlacement(rp).catch(() => undefined);
    return inventory?.reserved === reserved ? inventory : undefined;
  }, 20_000);

async function hostEvents(s: TestSystem, host: string, type: string): Promise<{ data: Record<string, unknown> }[]> {
  return (await s.store.readStream(Streams.host(host))).filter((e) => e.type === type);
}

beforeAll(async () => {
  placement = await TestPlacement.start();
  nova = await FakeNova.start();
  system = await TestSystem.start({
    name: 'health',
    hostname,
    settings: {
      NOVA_URL: nova.url,
      PLACEMENT_URL: placement.url,
      PLACEMENT_RECONCILE_INTERVAL_MS: '600000',
      PLACEMENT_RETRY_MAX_MS: '300',
      BIND_TIMEOUT_MS: '20000',
    },
    agentSettings: { AGENT_REPORT_INTERVAL_MS: '600000' },
  });
  sync = await startPlacementSync(system.settings(), quietLogger);
  await sync.ready();
  // Nova's compute node, which placement-sync hangs the deployables under.
  expect((await placement.call('POST', '/resource_providers', { name: hostname, uuid: randomUUID() })).status).toBe(
    200,
  );
}, PLACEMENT_START_TIMEOUT_MS);

afterAll(async () => {
  await sync?.close();
  await system?.close();
  await nova?.close();
  await placement?.stop();
});

describe('a device that fails is fenced, and recovers', () => {
  it('fault -> DeviceHealthChanged -> bind refused (409) -> Placement reserved -> recovery -> bindable again', async () => {
    const rp = await deployableRp(system, `${hostname}_0000:3b:00.0`);
    await placementReserves(rp, 0);
    const gpu = await device(system, hostname, 'NVIDIA A100 80GB PCIe');
    expect(gpu).toMatchObject({ health: 'healthy', health_reasons: [], fenced: false });

    // The GPU falls off the bus.
    expect(await setHealth(system, hostname, { gpu0: ['xid:79'] })).toMatchObject({ changed: true });
    const [changed] = await hostEvents(system, hostname, 'DeviceHealthChanged');
    expect(changed.data).toEqual({
      hostname,
      uuid: gpu.uuid,
      controlPath: 'PCI:0000:3b:00.0',
      from: 'healthy',
      to: 'unhealthy',
      reasons: [
        {
          code: 'xid',
          message: 'XID 79: GPU has fallen off the bus',
          evidence: { xid: 79, source: 'kernel log (NVRM: Xid)' },
        },
      ],
      fenced: true,
    });
    // The same report again appends nothing.
    expect(await setHealth(system, hostname, { gpu0: ['xid:79'] })).toMatchObject({ changed: false, events: 0 });
    expect(await hostEvents(system, hostname, 'DeviceHealthChanged')).toHaveLength(1);
    const sick = await deviceWithHealth(system, hostname, 'NVIDIA A100 80GB PCIe', 'unhealthy');
    expect(sick).toMatchObject({
      fenced: true,
      health_reasons: [{ code: 'xid', message: 'XID 79: GPU has fallen off the bus', evidence: { xid: 79 } }],
    });

    // Placement reserves the whole inventory.
    expect(await placementReserves(rp, 1)).toEqual(expect.objectContaining({ total: 1, reserved: 1 }));

    // A bind is refused: 409 naming the reason, the ARQ ends BindFailed with it, Nova hears it failed.
    const arq = await createArq(system, [{ 'resources:PGPU': '1' }]);
    const refused = await bind(system, hostname, arq, rp);
    expect(refused.status).toBe(409);
    expect(fault(refused)).toBe(
      `Device ${gpu.uuid} of deployable ${hostname}_0000:3b:00.0 on host ${hostname} is unhealthy (xid: XID 79: GPU has fallen off the bus); it takes no new binds until it recovers.`,
    );
    expect((await getArq(system, arq)).body.state).toBe('BindFailed');
    expect(await nova.eventFor(arq)).toMatchObject({ tag: arq, status: 'failed' });

    // Recovery lifts the fence, Placement frees the inventory, and the device binds again.
    await setHealth(system, hostname, { gpu0: [] });
    const events = await hostEvents(system, hostname, 'DeviceHealthChanged');
    expect(events.map((e) => [e.data.from, e.data.to, e.data.fenced])).toEqual([
      ['healthy', 'unhealthy', true],
      ['unhealthy', 'healthy', false],
    ]);
    await deviceWithHealth(system, hostname, 'NVIDIA A100 80GB PCIe', 'healthy');
    await placementReserves(rp, 0);
    const again = await createArq(system, [{ 'resources:PGPU': '1' }]);
    expect((await bind(system, hostname, again, rp)).status).toBe(202);
    expect((await resolved(system, again)).state).toBe('Bound');
    expect(
      (await call(system, 'DELETE', `/v2/accelerator_requests?arqs=${again},${arq}`, { headers: novaFor(project) }))
        .status,
    ).toBe(204);
  });

  it('reports each kind of fault with its reason: XID, ECC, row remap, off the bus, AER, link, temperature, power, port', async () => {
    await setHealth(system, hostname, {
      gpu0: ['xid:48', 'ecc_uncorrectable', 'row_remap_failure', 'fallen_off_bus'],
      gpu1: ['row_remap_pending'],
      nic0: ['aer_fatal', 'link_down'],
      qat0: ['aer_nonfatal'],
      fpga0: ['over_temperature', 'over_power', 'port_error'],
    });
    const expected: [string, string, string[]][] = [
      ['NVIDIA A100 80GB PCIe', 'unhealthy', ['xid', 'ecc_uncorrectable', 'row_remap_failure', 'fallen_off_bus']],
      ['NVIDIA Tesla T4', 'degraded', ['row_remap_pending']],
      ['Ethernet Controller XXV710 for 25GbE SFP28', 'unhealthy', ['aer_fatal', 'link_down']],
      ['C62x Chipset QuickAssist Technology', 'degraded', ['aer_nonfatal']],
      ['Intel PAC Arria 10 GX', 'unhealthy', ['temperature', 'power', 'port_error']],
    ];
    for (const [model, health, codes] of expected) {
      const d = await deviceWithHealth(system, hostname, model, health);
      expect({ model, codes: d.health_reasons!.map((r) => r.code), fenced: d.fenced }).toEqual({
        model,
        codes,
        fenced: health === 'unhealthy',
      });
    }
    const fpga = await device(system, hostname, 'Intel PAC Arria 10 GX');
    expect(fpga.health_reasons![0]).toEqual({
      code: 'temperature',
      message: 'Temperature 105 C is above the critical threshold 100 C',
      evidence: { temp1_input: 105000, temp1_crit: 100000 },
    });
    // Every VF of the fenced FPGA and NIC is reserved in Placement.
    for (const vf of ['0000:5e:00.1', '0000:5e:00.4', '0000:86:02.0', '0000:86:02.7']) {
      await placementReserves(await deployableRp(system, `${hostname}_${vf}`), 1);
    }
    await setHealth(system, hostname, { gpu0: [], gpu1: [], nic0: [], qat0: [], fpga0: [] });
    for (const [model] of expected) await deviceWithHealth(system, hostname, model, 'healthy');
  });

  it('answers at microversion 2.3 exactly as before health: no health fields', async () => {
    await setHealth(system, hostname, { gpu0: ['xid:79'] });
    await deviceWithHealth(system, hostname, 'NVIDIA A100 80GB PCIe', 'unhealthy');
    const old = await device(system, hostname, 'NVIDIA A100 80GB PCIe', V23);
    expect(Object.keys(old).sort()).toEqual(
      [
        'uuid',
        'type',
        'vendor',
        'model',
        'std_board_info',
        'vendor_board_info',
        'hostname',
        'status',
        'created_at',
        'updated_at',
        'links',
      ].sort(),
    );
    const bare = await device(system, hostname, 'NVIDIA A100 80GB PCIe', {});
    expect(bare.health).toBeUndefined();
    expect(bare.status).toBeUndefined();
    await setHealth(system, hostname, { gpu0: [] });
    await deviceWithHealth(system, hostname, 'NVIDIA A100 80GB PCIe', 'healthy');
  });

  it('lets a degraded device bind, and marks the ARQs bound to a device whose health changes', async () => {
    const rp = await deployableRp(system, `${hostname}_0000:af:00.0`);
    const vgpu = [{ 'resources:VGPU': '1' }];
    const first = await createArq(system, vgpu);
    expect((await bind(system, hostname, first, rp)).status).toBe(202);
    expect((await resolved(system, first)).state).toBe('Bound');
    expect((await getArq(system, first, V24)).body).toMatchObject({
      device_health: 'healthy',
      device_health_reasons: [],
    });

    // Degraded: shown on the device and the bound ARQ, still schedulable.
    await setHealth(system, hostname, { gpu1: ['aer_nonfatal'] });
    const t4 = await deviceWithHealth(system, hostname, 'NVIDIA Tesla T4', 'degraded');
    expect(t4.fenced).toBe(false);
    const marked = await eventually(async () => {
      const { body } = await getArq(system, first, V24);
      return body.device_health === 'degraded' ? body : undefined;
    });
    expect(marked.device_health_reasons).toEqual([
      expect.objectContaining({ code: 'aer_nonfatal', message: 'PCIe AER non-fatal errors' }),
    ]);
    const second = await createArq(system, vgpu);
    expect((await bind(system, hostname, second, rp)).status).toBe(202);
    expect((await resolved(system, second)).state).toBe('Bound');
    expect((await getArq(system, second, V24)).body.device_health).toBe('degraded');
    expect(await reservedInPlacement(rp)).toMatchObject({ reserved: 0 });

    // At 2.3 the ARQ answers as before.
    expect(Object.keys((await getArq(system, first, V23)).body)).not.toContain('device_health');

    // Unhealthy: both bound ARQs are marked, in their streams and their history; a third bind is refused.
    await setHealth(system, hostname, { gpu1: ['xid:79'] });
    for (const arq of [first, second]) {
      await eventually(async () =>
        (await getArq(system, arq, V24)).body.device_health === 'unhealthy' ? true : undefined,
      );
      const events = await system.store.readStream(Streams.arq(arq));
      expect(events.filter((e) => e.type === 'ArqDeviceHealthChanged').at(-1)?.data).toMatchObject({
        uuid: arq,
        hostname,
        deviceUuid: t4.uuid,
        health: 'unhealthy',
        reasons: [expect.objectContaining({ code: 'xid', message: 'XID 79: GPU has fallen off the bus' })],
      });
    }
    const history = await call<{ entries: { type: string; summary: string }[] }>(
      system,
      'GET',
      `/v2/accelerator_requests/${first}/history`,
      { headers: userOf(project) },
    );
    expect(history.status).toBe(200);
    expect(history.body.entries.filter((e) => e.type === 'ArqDeviceHealthChanged').map((e) => e.summary)).toEqual([
      expect.stringContaining('is degraded (aer_nonfatal: PCIe AER non-fatal errors)'),
      expect.stringContaining('is unhealthy (xid: XID 79: GPU has fallen off the bus)'),
    ]);
    const deviceHistory = await call<{ entries: { type: string; summary: string }[] }>(
      system,
      'GET',
      `/v2/devices/${t4.uuid}/history`,
    );
    // The last two: the earlier test showed this GPU degraded and healthy again.
    const healthEntries = deviceHistory.body.entries.filter((e) => e.type === 'DeviceHealthChanged');
    expect(healthEntries.slice(-2).map((e) => e.summary)).toEqual([
      `device ${t4.uuid} health healthy -> degraded (aer_nonfatal: PCIe AER non-fatal errors)`,
      `device ${t4.uuid} health degraded -> unhealthy (xid: XID 79: GPU has fallen off the bus), fenced: no new binds`,
    ]);
    const third = await createArq(system, vgpu);
    expect((await bind(system, hostname, third, rp)).status).toBe(409);

    // Recovery marks them healthy again; the bound ARQs were never unbound.
    await setHealth(system, hostname, { gpu1: [] });
    for (const arq of [first, second]) {
      const body = await eventually(async () => {
        const { body: b } = await getArq(system, arq, V24);
        return b.device_health === 'healthy' ? b : undefined;
      });
      expect(body.state).toBe('Bound');
    }
    for (const arq of [first, second]) {
      expect(
        (
          await call(system, 'PATCH', '/v2/accelerator_requests', {
            json: { [arq]: unbindOps },
            headers: novaFor(project),
          })
        ).status,
      ).toBe(202);
    }
    expect((await getArq(system, first, V24)).body).toMatchObject({ state: 'Unbound', device_health: null });
  });
});

describe('with HEALTH_FENCE_STICKY, a recovered device stays fenced until an admin releases it', () => {
  let sticky: TestSystem;
  const stickyHost = `sticky-${randomUUID().slice(0, 6)}`;

  beforeAll(async () => {
    sticky = await TestSystem.start({
      name: 'health-sticky',
      hostname: stickyHost,
      settings: { HEALTH_FENCE_STICKY: 'true' },
      agentSettings: { AGENT_REPORT_INTERVAL_MS: '600000' },
    });
  });

  afterAll(async () => {
    await sticky?.close();
  });

  it('keeps the fence after recovery, refuses the release while unhealthy, and binds once released', async () => {
    const rp = await deployableRp(sticky, `${stickyHost}_0000:3b:00.0`);
    const model = 'NVIDIA A100 80GB PCIe';
    await setHealth(sticky, stickyHost, { gpu0: ['ecc_uncorrectable'] });
    const gpu = await deviceWithHealth(sticky, stickyHost, model, 'unhealthy');
    const release = (headers: Record<string, string> = V24) =>
      call(sticky, 'POST', `/v2/devices/${gpu.uuid}/health/release`, { headers });

    const early = await release();
    expect(early.status).toBe(409);
    expect(fault(early)).toContain(
      'is still unhealthy (ecc_uncorrectable: Uncorrectable ECC errors since the last reset)',
    );

    await setHealth(sticky, stickyHost, { gpu0: [] });
    const recovered = await deviceWithHealth(sticky, stickyHost, model, 'healthy');
    expect(recovered.fenced).toBe(true);
    const arq = await createArq(sticky, [{ 'resources:PGPU': '1' }]);
    const refused = await bind(sticky, stickyHost, arq, rp);
    expect(refused.status).toBe(409);
    expect(fault(refused)).toContain(`an admin releases it with POST /v2/devices/${gpu.uuid}/health/release`);

    // The release is 2.4 and admin only.
    expect((await release({})).status).toBe(406);
    expect((await release({ ...V24, ...userOf(project) })).status).toBe(403);
    expect((await release()).status).toBe(200);
    expect((await release()).status).toBe(200);
    expect((await hostEvents(sticky, stickyHost, 'DeviceFenceReleased')).map((e) => e.data)).toEqual([
      { hostname: stickyHost, uuid: gpu.uuid },
    ]);
    await eventually(async () => ((await device(sticky, stickyHost, model)).fenced === false ? true : undefined));
    const again = await createArq(sticky, [{ 'resources:PGPU': '1' }]);
    expect((await bind(sticky, stickyHost, again, rp)).status).toBe(202);
    expect((await resolved(sticky, again)).state).toBe('Bound');
  });
});
