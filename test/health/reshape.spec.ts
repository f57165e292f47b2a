import { randomUUID } from 'node:crypto';
import { Streams } from '@cyborg/contracts';
import { type RunningPlacementSync, startPlacementSync } from '../../apps/placement-sync/src/start';
import { quietLogger } from '../support/logger';
import { PLACEMENT_START_TIMEOUT_MS, TestPlacement } from '../support/placement';
import { TestSystem } from '../support/system';
import { type ArqBody, bindOps, eventually, fault, http, novaFor, unbindOps, unique, userOf } from '../arqs/support';

/**
 * Devices an admin reshapes, end to end over real NATS, PostgreSQL and
 * Placement: the request is recorded on the host stream, the agent applies
 * it through the simulated driver while nothing on the device is bound,
 * reports the new inventory, and Placement follows; a busy device refuses
 * or waits, as the admin chose; every step is in the device's history.
 */
let placement: TestPlacement;
let system: TestSystem;
let sync: RunningPlacementSync;
let computeNode: string;
const hostname = `reshape-${randomUUID().slice(0, 6)}`;
const project = 'project-reshape';
const V24 = { 'OpenStack-API-Version': 'accelerator 2.4' };

const call = <T = unknown>(
  method: string,
  path: string,
  options: { json?: unknown; headers?: Record<string, string> } = {},
) => http<T>(system.apiUrl, method, path, options);

async function deviceUuid(model: string): Promise<string> {
  const { body } = await call<{ devices: { uuid: string; model: string }[] }>(
    'GET',
    `/v2/devices?hostname=${hostname}`,
  );
  return body.devices.find((d) => d.model === model)!.uuid;
}

const reshape = (uuid: string, json: unknown, headers: Record<string, string> = V24) =>
  call<Record<string, unknown>>('POST', `/v2/devices/${uuid}/reshape`, { json, headers });

/** Our providers under the compute node, by name: total and reserved. */
async function providers(): Promise<Map<string, { total: number; reserved: number; traits: string[] }>> {
  const { body } = await placement.call<{
    resource_providers: { uuid: string; name: string; parent_provider_uuid: string }[];
  }>('GET', `/resource_providers?in_tree=${computeNode}`);
  const out = new Map<string, { total: number; reserved: number; traits: string[] }>();
  for (const p of body.resource_providers.filter((rp) => rp.parent_provider_uuid === computeNode)) {
    const inv = await placement.call<{ inventories: Record<string, { total: number; reserved: number }> }>(
      'GET',
      `/resource_providers/${p.uuid}/inventories`,
    );
    const traits = await placement.call<{ traits: string[] }>('GET', `/resource_providers/${p.uuid}/traits`);
    const [first] = Object.values(inv.body.inventories);
    out.set(p.name, { total: first?.total ?? 0, reserved: first?.reserved ?? 0, traits: traits.body.traits.sort() });
  }
  return out;
}

const nicVfProviders = async () =>
  [...(await providers()).keys()].filter((n) => n.startsWith(`${hostname}_0000:86:`)).sort();

async function deployableRp(name: string): Promise<string> {
  return eventually(async () => {
    const { body } = await call<{ deployables: { name: string; rp_uuid: string }[] }>(
      'GET',
      `/v2/deployables?filters.field=name&filters.value=${name}`,
    );
    return body.deployables[0]?.rp_uuid;
  });
}

async function hostEvents(type: string): Promise<{ data: Record<string, unknown> }[]> {
  return (await system.store.readStream(Streams.host(hostname))).filter((e) => e.type === type);
}

beforeAll(async () => {
  placement = await TestPlacement.start();
  system = await TestSystem.start({
    name: 'reshape',
    hostname,
    settings: {
      PLACEMENT_URL: placement.url,
      PLACEMENT_RECONCILE_INTERVAL_MS: '600000',
      PLACEMENT_RETRY_MAX_MS: '300',
    },
    agentSettings: { AGENT_REPORT_INTERVAL_MS: '600000' },
  });
  sync = await startPlacementSync(system.settings(), quietLogger);
  await sync.ready();
  computeNode = randomUUID();
  expect((await placement.call('POST', '/resource_providers', { name: hostname, uuid: computeNode })).status).toBe(200);
  await eventually(async () => ((await nicVfProviders()).length === 8 ? true : undefined), 20_000);
}, PLACEMENT_START_TIMEOUT_MS);

afterAll(async () => {
  await sync?.close();
  await system?.close();
  await placement?.stop();
});

describe('an admin reshapes a device', () => {
  it('sets the number of SR-IOV VFs of a NIC: the agent applies it, reports, and Placement follows', async () => {
    const nic = await deviceUuid('Ethernet Controller XXV710 for 25GbE SFP28');
    const answer = await reshape(nic, { num_vfs: 3 });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      reshape_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      device_uuid: nic,
      state: 'applied',
      vgpu_type: null,
      mig_profiles: null,
      num_vfs: 3,
      when_busy: 'refuse',
      waiting_for: [],
    });
    // The report came before the answer: the host stream has the VFs gone.
    const removed = await hostEvents('DeployableRemoved');
    expect(removed.map((e) => e.data.name).sort()).toEqual([3, 4, 5, 6, 7].map((i) => `${hostname}_0000:86:02.${i}`));
    expect(
      await eventually(async () => {
        const names = await nicVfProviders();
        return names.length === 3 ? names : undefined;
      }),
    ).toEqual([0, 1, 2].map((i) => `${hostname}_0000:86:02.${i}`));

    const history = await call<{ entries: { type: string; summary: string }[] }>('GET', `/v2/devices/${nic}/history`);
    const steps = history.body.entries.filter((e) => e.type.startsWith('DeviceReshape'));
    expect(steps.map((e) => e.type)).toEqual(['DeviceReshapeRequested', 'DeviceReshapeApplied']);
    expect(steps[1].summary).toBe(`reshape ${String(answer.body.reshape_id)} of device ${nic} applied: {"numVfs":3}`);
  });

  it('changes the vGPU type of a GPU, and lays out MIG instances', async () => {
    const t4 = await deviceUuid('NVIDIA Tesla T4');
    expect((await reshape(t4, { vgpu_type: 'nvidia-231' })).status).toBe(200);
    const handles = (await system.store.readStream(Streams.host(hostname))).filter(
      (e) => e.type === 'AttachHandleAdded' && String((e.data as { info: string }).info).includes('nvidia-231'),
    );
    expect(handles).toHaveLength(8);

    const a100 = await deviceUuid('NVIDIA A100 80GB PCIe');
    expect((await reshape(a100, { mig_profiles: ['3g.40gb', '2g.20gb', '1g.10gb'] })).status).toBe(200);
    const tree = await eventually(async () => {
      const all = await providers();
      return all.has(`${hostname}_0000:3b:00.0_mig2`) ? all : undefined;
    });
    expect(tree.has(`${hostname}_0000:3b:00.0`)).toBe(false);
    expect(tree.get(`${hostname}_0000:3b:00.0_mig0`)).toEqual({
      total: 1,
      reserved: 0,
      traits: ['CUSTOM_MIG_3G_40GB', 'OWNER_CYBORG'],
    });

    // Too many slices: the driver refuses, the failure is recorded with its reason.
    const tooMany = await reshape(a100, { mig_profiles: ['4g.40gb', '4g.40gb'] });
    expect(tooMany.status).toBe(409);
    expect(fault(tooMany)).toBe(
      `Reshape of device ${a100} failed: MIG profiles 4g.40gb + 4g.40gb need 8 of GPU gpu0's 7 slices`,
    );
    expect((await hostEvents('DeviceReshapeFailed')).at(-1)?.data).toMatchObject({
      uuid: a100,
      reasons: ["MIG profiles 4g.40gb + 4g.40gb need 8 of GPU gpu0's 7 slices"],
    });
  });

  it('refuses a busy device, or waits for its ARQs to let go, as the admin chose', async () => {
    const fpga = await deviceUuid('Intel PAC Arria 10 GX');
    const rp = await deployableRp(`${hostname}_0000:5e:00.1`);
    const name = unique('dp');
    expect(
      (await call('POST', '/v2/device_profiles', { json: [{ name, groups: [{ 'resources:FPGA': '1' }] }] })).status,
    ).toBe(201);
    const created = await call<{ arqs: ArqBody[] }>('POST', '/v2/accelerator_requests', {
      json: { device_profile_name: name },
      headers: userOf(project),
    });
    const arq = created.body.arqs[0].uuid;
    expect(
      (
        await call('PATCH', '/v2/accelerator_requests', {
          json: { [arq]: bindOps(hostname, rp, randomUUID()) },
          headers: novaFor(project),
        })
      ).status,
    ).toBe(202);

    const refused = await reshape(fpga, { num_vfs: 2 });
    expect(refused.status).toBe(409);
    expect(fault(refused)).toBe(
      `Device ${fpga} cannot be reshaped while 1 ARQ(s) are bound to it (${arq}); unbind them, or ask with "when_busy": "wait" to apply it once they let go.`,
    );

    const waiting = await reshape(fpga, { num_vfs: 2, when_busy: 'wait' });
    expect(waiting.status).toBe(202);
    expect(waiting.body).toMatchObject({ state: 'waiting', waiting_for: [arq] });
    // Binds to the device wait meanwhile.
    const second = await call<{ arqs: ArqBody[] }>('POST', '/v2/accelerator_requests', {
      json: { device_profile_name: name },
      headers: userOf(project),
    });
    const other = await deployableRp(`${hostname}_0000:5e:00.2`);
    const blocked = await call('PATCH', '/v2/accelerator_requests', {
      json: { [second.body.arqs[0].uuid]: bindOps(hostname, other, randomUUID()) },
      headers: novaFor(project),
    });
    expect(blocked.status).toBe(409);
    expect(fault(blocked)).toContain('is being reshaped');

    // The ARQ lets go: the reshape runs, the FPGA keeps two VFs.
    expect(
      (await call('PATCH', '/v2/accelerator_requests', { json: { [arq]: unbindOps }, headers: novaFor(project) }))
        .status,
    ).toBe(202);
    await eventually(async () =>
      (await hostEvents('DeviceReshapeApplied')).some((e) => e.data.uuid === fpga) ? true : undefined,
    );
    await eventually(async () => {
      const names = [...(await providers()).keys()].filter((n) => n.startsWith(`${hostname}_0000:5e:`));
      return names.length === 2 ? true : undefined;
    });
  });

  it('answers bad requests with a 4xx saying what to fix', async () => {
    const nic = await deviceUuid('Ethernet Controller XXV710 for 25GbE SFP28');
    const cases: [unknown, number, string][] = [
      [{}, 400, 'Say what to change: give one of vgpu_type, mig_profiles or num_vfs.'],
      [
        { num_vfs: 2, vgpu_type: '558' },
        400,
        'A reshape changes one thing at a time; the body gives vgpu_type and num_vfs.',
      ],
      [{ num_vfs: 999 }, 400, 'num_vfs must be at most 256'],
      [{ num_vfs: 'four' }, 400, 'num_vfs must be a whole number'],
      [{ mig_profiles: ['big'] }, 400, 'every MIG profile must be named like "1g.10gb", "3g.40gb" or "1g.10gb+me"'],
      [{ num_vfs: 2, when_busy: 'later' }, 400, 'when_busy must be "wait" or "refuse"'],
      [
        { num_vfs: 2, colour: 'red' },
        400,
        'Unknown field colour: a reshape takes vgpu_type, mig_profiles, num_vfs and when_busy.',
      ],
      [{ mig_profiles: ['1g.10gb'] }, 400, `Device ${nic} is a NIC: a MIG layout applies to GPUs only.`],
    ];
    for (const [json, status, message] of cases) {
      const answer = await reshape(nic, json);
      expect({ json, status: answer.status, message: fault(answer) }).toEqual({ json, status, message });
    }
    expect((await reshape(randomUUID(), { num_vfs: 1 })).status).toBe(404);
    // Behind microversion 2.4, for admins only.
    expect((await reshape(nic, { num_vfs: 1 }, {})).status).toBe(406);
    expect((await reshape(nic, { num_vfs: 1 }, { ...V24, ...userOf(project) })).status).toBe(403);
  });
});
