import { randomUUID } from 'node:crypto';
import { DeviceReshapeRequested, type DeviceReshapeSpecV1, Streams } from '@cyborg/contracts';
import { TestSystem } from '../support/system';
import { type ArqBody, bindOps, eventually, fault, http, novaFor, unbindOps, unique, userOf } from '../arqs/support';

/**
 * A reshape recorded by a conductor that stopped before applying it would
 * keep its device refusing binds for good. The next conductor sweeps the host
 * streams at start and ends every pending reshape of a free device: applied,
 * or failed with the agent's reason; binds to the device work again. Over
 * real NATS and PostgreSQL, with the simulated driver.
 */
let system: TestSystem;
let profile: string;
const hostname = `sweep-${randomUUID().slice(0, 6)}`;
const project = 'project-sweep';

const call = <T = unknown>(
  method: string,
  path: string,
  options: { json?: unknown; headers?: Record<string, string> } = {},
) => http<T>(system.apiUrl, method, path, options);

async function fpga(): Promise<string> {
  const { body } = await call<{ devices: { uuid: string; model: string }[] }>(
    'GET',
    `/v2/devices?hostname=${hostname}`,
  );
  return body.devices.find((d) => d.model === 'Intel PAC Arria 10 GX')!.uuid;
}

async function deployableRp(name: string): Promise<string> {
  return eventually(async () => {
    const { body } = await call<{ deployables: { name: string; rp_uuid: string }[] }>(
      'GET',
      `/v2/deployables?filters.field=name&filters.value=${name}`,
    );
    return body.deployables[0]?.rp_uuid;
  });
}

/** What a conductor records before it stops: the request, with nothing applied. */
async function recordOnly(deviceUuid: string, spec: DeviceReshapeSpecV1): Promise<string> {
  const reshapeId = randomUUID();
  await system.store.append([
    {
      streamId: Streams.host(hostname),
      expectedVersion: 'any',
      events: [
        {
          type: DeviceReshapeRequested.type,
          data: { hostname, uuid: deviceUuid, reshapeId, spec, whenBusy: 'refuse', waitingFor: [] },
        },
      ],
    },
  ]);
  return reshapeId;
}

async function endOf(reshapeId: string): Promise<{ type: string; data: Record<string, unknown> }> {
  return eventually(async () =>
    (await system.store.readStream(Streams.host(hostname))).find(
      (e) =>
        (e.type === 'DeviceReshapeApplied' || e.type === 'DeviceReshapeFailed') &&
        (e.data as { reshapeId: string }).reshapeId === reshapeId,
    ),
  ) as Promise<{ type: string; data: Record<string, unknown> }>;
}

/** Binds one ARQ to the deployable, waits for Bound, and unbinds it. */
async function bindsWork(deployable: string): Promise<void> {
  const created = await call<{ arqs: ArqBody[] }>('POST', '/v2/accelerator_requests', {
    json: { device_profile_name: profile },
    headers: userOf(project),
  });
  const arq = created.body.arqs[0].uuid;
  const answer = await call('PATCH', '/v2/accelerator_requests', {
    json: { [arq]: bindOps(hostname, await deployableRp(deployable), randomUUID()) },
    headers: novaFor(project),
  });
  expect({ status: answer.status, fault: answer.status === 202 ? null : fault(answer) }).toEqual({
    status: 202,
    fault: null,
  });
  const state = await eventually(async () => {
    const { body } = await call<ArqBody>('GET', `/v2/accelerator_requests/${arq}`);
    return body.state === 'BindStarted' ? undefined : body.state;
  });
  expect(state).toBe('Bound');
  expect(
    (await call('PATCH', '/v2/accelerator_requests', { json: { [arq]: unbindOps }, headers: novaFor(project) })).status,
  ).toBe(202);
  await eventually(async () => {
    const { body } = await call<ArqBody>('GET', `/v2/accelerator_requests/${arq}`);
    return body.state === 'Unbound' ? true : undefined;
  });
}

beforeAll(async () => {
  system = await TestSystem.start({
    name: 'reshape-sweep',
    hostname,
    agentSettings: { AGENT_REPORT_INTERVAL_MS: '600000' },
  });
  profile = unique('dp');
  expect(
    (await call('POST', '/v2/device_profiles', { json: [{ name: profile, groups: [{ 'resources:FPGA': '1' }] }] }))
      .status,
  ).toBe(201);
  await deployableRp(`${hostname}_0000:5e:00.1`);
});

afterAll(async () => {
  await system?.close();
});

describe('a reshape its conductor never applied', () => {
  it('is failed by the next conductor with the driver reason, and the device takes binds again', async () => {
    const device = await fpga();
    let reshapeId = '';
    await system.restartConductor(async () => {
      reshapeId = await recordOnly(device, { vgpuType: 'nvidia-231' });
    });
    const end = await endOf(reshapeId);
    expect(end.type).toBe('DeviceReshapeFailed');
    expect(end.data.reasons).toEqual(['device fpga0 is a FPGA, not a GPU: it has no vGPU types']);
    await bindsWork(`${hostname}_0000:5e:00.1`);
  });

  it('is applied by the next conductor, the new inventory reported, and the device takes binds again', async () => {
    const device = await fpga();
    let reshapeId = '';
    await system.restartConductor(async () => {
      reshapeId = await recordOnly(device, { numVfs: 2 });
    });
    const end = await endOf(reshapeId);
    expect(end).toMatchObject({ type: 'DeviceReshapeApplied', data: { uuid: device, spec: { numVfs: 2 } } });
    const removed = (await system.store.readStream(Streams.host(hostname)))
      .filter((e) => e.type === 'DeployableRemoved')
      .map((e) => (e.data as { name: string }).name);
    expect(removed).toContain(`${hostname}_0000:5e:00.3`);
    expect(removed).not.toContain(`${hostname}_0000:5e:00.2`);
    await bindsWork(`${hostname}_0000:5e:00.2`);

    const history = await call<{ entries: { type: string }[] }>('GET', `/v2/devices/${device}/history`);
    expect(history.body.entries.map((e) => e.type).filter((t) => t.startsWith('DeviceReshape'))).toEqual([
      'DeviceReshapeRequested',
      'DeviceReshapeFailed',
      'DeviceReshapeRequested',
      'DeviceReshapeApplied',
    ]);
  });
});
