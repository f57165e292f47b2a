import { randomUUID } from 'node:crypto';
import { copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunningService, Settings } from '@cyborg/config';
import {
  agentSubject,
  AgentWork,
  type AttachHandleDto,
  type AttachHandleWorkReply,
  type ReleaseAttachHandleWork,
  type ReportInventoryResult,
  Streams,
} from '@cyborg/contracts';
import { startAgent } from '../../apps/agent/src/start';
import { type ArqBody, bindOps, eventually, http, novaFor, unbindOps, unique, userOf } from '../arqs/support';
import { FixtureCopy } from '../fixtures/fixtures';
import { quietLogger } from '../support/logger';
import { TestSystem } from '../support/system';

/**
 * An agent restarted over a real GPU host (the gpu-host fixture tree, `nvidia_gpu`) forgets
 * nothing the log says: which ARQ and bind attempt hold each H100 VF, the vGPU type a reshape
 * gave the GPU, and which VFs are free (a release sent while it was down is done at its start).
 * A simulated host's agent takes back every reshape kind it applied. Real NATS and PostgreSQL;
 * the agents are stopped and started again between the steps.
 */
let system: TestSystem;
let agent: RunningService | null = null;
let agentSettings: Settings;
let copy: FixtureCopy;
const suffix = randomUUID().slice(0, 6);
const host = `restart-gpu-${suffix}`;
const project = 'project-restart';
const V24 = { 'OpenStack-API-Version': 'accelerator 2.4' };
const VGPU_10C = { 'resources:VGPU': '1', 'trait:CUSTOM_NVIDIA_2330_H100XM_10C': 'required' };
const VGPU_40C = { 'resources:VGPU': '1', 'trait:CUSTOM_NVIDIA_2330_H100XM_40C': 'required' };

interface Deployable {
  uuid: string;
  name: string;
  device_id: number;
  attributes_list: string;
  rp_uuid: string;
}

const call = <T = unknown>(
  method: string,
  path: string,
  options: { json?: unknown; headers?: Record<string, string> } = {},
) => http<T>(system.apiUrl, method, path, options);

const vfName = (f: string) => `${host}_0000:41:00.${f}`;
const vfType = async (f: string) =>
  (
    await readFile(
      join(
        copy.sysfs('gpu-host'),
        'devices',
        'pci0000:40',
        '0000:40:01.0',
        `0000:41:00.${f}`,
        'nvidia',
        'current_vgpu_type',
      ),
      'utf8',
    )
  ).trim();

async function deployable(name: string): Promise<Deployable | undefined> {
  const { body } = await call<{ deployables: Deployable[] }>(
    'GET',
    `/v2/deployables?filters.field=name&filters.value=${name}`,
  );
  return body.deployables[0];
}

async function deviceUuidOf(d: Deployable): Promise<string> {
  const rows: { uuid: string }[] = await system.db.dataSource.query('SELECT uuid FROM devices WHERE id = $1', [
    d.device_id,
  ]);
  return rows[0].uuid;
}

async function createArq(group: Record<string, string>): Promise<ArqBody> {
  const name = unique('dp-restart');
  expect((await call('POST', '/v2/device_profiles', { json: [{ name, groups: [group] }] })).status).toBe(201);
  const created = await call<{ arqs: ArqBody[] }>('POST', '/v2/accelerator_requests', {
    json: { device_profile_name: name },
    headers: userOf(project),
  });
  expect(created.status).toBe(201);
  return created.body.arqs[0];
}

/** Binds as Nova does and waits until the bind has ended. */
async function bind(arq: string, rp: string): Promise<ArqBody> {
  const answer = await call('PATCH', '/v2/accelerator_requests', {
    json: { [arq]: bindOps(host, rp, randomUUID()) },
    headers: novaFor(project),
  });
  expect(answer.status).toBe(202);
  return eventually(async () => {
    const { body } = await call<ArqBody>('GET', `/v2/accelerator_requests/${arq}`, { headers: userOf(project) });
    return body.state === 'Bound' || body.state === 'BindFailed' ? body : undefined;
  }, 60_000);
}

/** Unbinds as Nova does and waits until the log has the ARQ unbound (the release sent, or lost). */
async function unbindAndWait(arq: string): Promise<void> {
  await unbind(arq);
  await eventually(async () => {
    const { body } = await call<ArqBody>('GET', `/v2/accelerator_requests/${arq}`, { headers: userOf(project) });
    return body.state === 'Unbound' ? true : undefined;
  }, 60_000);
}

async function unbind(arq: string): Promise<void> {
  const answer = await call('PATCH', '/v2/accelerator_requests', {
    json: { [arq]: unbindOps },
    headers: novaFor(project),
  });
  expect(answer.status).toBe(202);
}

/** What a crash and restart of the host's agent leave: a new process with nothing in memory. */
async function restartAgent(): Promise<void> {
  await agent?.close();
  agent = null;
  agent = await startAgent(agentSettings, quietLogger);
}

const reportNow = () =>
  system.rpc.request<ReportInventoryResult>(
    agentSubject(host, AgentWork.reportNow),
    { reason: 'test' },
    {
      timeoutMs: 60_000,
    },
  );

beforeAll(async () => {
  copy = await FixtureCopy.make('cyborg-agent-restart-');
  // The system's own agent serves another host; this file runs the GPU host's agent itself, to restart it.
  system = await TestSystem.start({ name: 'agent-restart', hostname: `restart-sim-${suffix}` });
  agentSettings = system.settings({
    AGENT_HOSTNAME: host,
    AGENT_DRIVERS: 'nvidia_gpu',
    AGENT_SYSFS_ROOT: copy.sysfs('gpu-host'),
    AGENT_NVIDIA_VGPU_TYPES: 'nvidia-223,nvidia-182,1289,nvidia-701@0000:86:00.4,nvidia-699@0000:86:00.5',
    AGENT_NVIDIA_SMI_PATH: await copy.tool('nvidia-smi'),
    AGENT_REPORT_INTERVAL_MS: '600000',
  });
  agent = await startAgent(agentSettings, quietLogger);
  await eventually(async () => ((await deployable(vfName('7'))) ? true : undefined), 60_000);
});

afterAll(async () => {
  await agent?.close();
  await system?.close();
  await copy?.remove();
});

describe('an agent restarted between the binds of an H100 VF', () => {
  it('leaves the VF as the ARQ holding it now has it when an earlier ARQ’s release arrives late', async () => {
    const vf = (await deployable(vfName('6')))!;
    const first = await createArq(VGPU_10C);
    const firstBound = await bind(first.uuid, vf.rp_uuid);
    expect(firstBound.state).toBe('Bound');
    expect(await vfType('6')).toBe('1289');
    await unbind(first.uuid);
    await eventually(async () => ((await vfType('6')) === '0' ? true : undefined), 60_000);

    // A second ARQ takes the same VF: the log records it as the holder.
    const second = await createArq(VGPU_10C);
    const secondBound = await bind(second.uuid, vf.rp_uuid);
    expect(secondBound).toMatchObject({ state: 'Bound', attach_handle_uuid: firstBound.attach_handle_uuid });
    expect(await vfType('6')).toBe('1289');

    await restartAgent();

    // The first ARQ's release, late (as a request the old agent took and never did, asked again).
    const handle: AttachHandleDto = {
      uuid: firstBound.attach_handle_uuid!,
      type: 'PCI',
      info: '{"bus": "41", "device": "00", "domain": "0000", "function": "6"}',
      deployableUuid: vf.uuid,
      deployableName: vf.name,
      deviceUuid: await deviceUuidOf(vf),
      driverName: 'nvidia_gpu',
    };
    const late: ReleaseAttachHandleWork = {
      jobId: `${first.uuid}:1:release`,
      arqUuid: first.uuid,
      attachHandle: handle,
    };
    expect(
      await system.rpc.request<AttachHandleWorkReply>(agentSubject(host, AgentWork.unbind), late, {
        timeoutMs: 60_000,
      }),
    ).toEqual({ ok: true });
    expect(await vfType('6')).toBe('1289');

    // The holder's own release, through the API, still clears it.
    await unbind(second.uuid);
    await eventually(async () => ((await vfType('6')) === '0' ? true : undefined), 60_000);
  });
});

describe('an agent restarted after the same ARQ bound an H100 VF twice', () => {
  it('leaves the VF as the second bind has it when the first bind’s release arrives late', async () => {
    const vf = (await deployable(vfName('6')))!;
    const arq = await createArq(VGPU_10C);
    const first = await bind(arq.uuid, vf.rp_uuid);
    expect(first.state).toBe('Bound');
    await unbindAndWait(arq.uuid);
    await eventually(async () => ((await vfType('6')) === '0' ? true : undefined), 60_000);
    const second = await bind(arq.uuid, vf.rp_uuid);
    expect(second).toMatchObject({ state: 'Bound', attach_handle_uuid: first.attach_handle_uuid });
    expect(await vfType('6')).toBe('1289');
    const allocations = (await system.store.readStream(Streams.host(host))).filter(
      (e) => e.type === 'AttachHandleAllocated' && (e.data as { arqUuid: string }).arqUuid === arq.uuid,
    );
    expect(allocations.map((e) => (e.data as { attempt?: number }).attempt)).toEqual([1, 2]);

    await restartAgent();

    // The first bind's release, late: same ARQ, attempt 1. The log says attempt 2 holds the VF.
    const late: ReleaseAttachHandleWork = {
      jobId: `${arq.uuid}:1:release`,
      arqUuid: arq.uuid,
      attempt: 1,
      attachHandle: {
        uuid: first.attach_handle_uuid!,
        type: 'PCI',
        info: '{"bus": "41", "device": "00", "domain": "0000", "function": "6"}',
        deployableUuid: vf.uuid,
        deployableName: vf.name,
        deviceUuid: await deviceUuidOf(vf),
        driverName: 'nvidia_gpu',
      },
    };
    expect(
      await system.rpc.request<AttachHandleWorkReply>(agentSubject(host, AgentWork.unbind), late, {
        timeoutMs: 60_000,
      }),
    ).toEqual({ ok: true });
    expect(await vfType('6')).toBe('1289');

    await unbind(arq.uuid);
    await eventually(async () => ((await vfType('6')) === '0' ? true : undefined), 60_000);
  }, 180_000);
});

describe('an agent that was down when a release was sent', () => {
  it('clears at its start the VF the log shows free, and leaves the one still held', async () => {
    const held = await createArq(VGPU_10C);
    const freed = await createArq(VGPU_10C);
    expect((await bind(held.uuid, (await deployable(vfName('7')))!.rp_uuid)).state).toBe('Bound');
    expect((await bind(freed.uuid, (await deployable(vfName('4')))!.rp_uuid)).state).toBe('Bound');
    expect([await vfType('7'), await vfType('4')]).toEqual(['1289', '1289']);

    await agent?.close();
    agent = null;
    // Recorded in the log, sent once to an agent that is not there.
    await unbindAndWait(freed.uuid);
    expect(await vfType('4')).toBe('1289');

    agent = await startAgent(agentSettings, quietLogger);
    await eventually(async () => ((await vfType('4')) === '0' ? true : undefined), 60_000);
    await reportNow();
    expect(await vfType('7')).toBe('1289');

    await unbind(held.uuid);
    await eventually(async () => ((await vfType('7')) === '0' ? true : undefined), 60_000);
  }, 180_000);
});

describe('an agent restarted after a reshape of an H100', () => {
  it('reports the VFs as the vGPU type the reshape gave them, and binds them as it', async () => {
    const vf = (await deployable(vfName('5')))!;
    const device = await deviceUuidOf(vf);
    const reshaped = await call<{ state: string }>('POST', `/v2/devices/${device}/reshape`, {
      json: { vgpu_type: '1292' },
      headers: V24,
    });
    expect({ status: reshaped.status, state: reshaped.body.state }).toEqual({ status: 200, state: 'applied' });
    for (const f of ['4', '5', '6', '7']) expect(await vfType(f)).toBe('1292');

    await restartAgent();
    await reportNow();
    for (const f of ['4', '5', '6', '7']) {
      const listed = await deployable(vfName(f));
      expect(listed?.attributes_list).toContain('{"vgpu_type": "1292"}');
      expect(listed?.attributes_list).toContain('CUSTOM_NVIDIA_2330_H100XM_40C');
    }

    // Bound and released, the VF is cleared; bound again, it becomes the reshaped type, not the configured 1289.
    const first = await createArq(VGPU_40C);
    expect((await bind(first.uuid, vf.rp_uuid)).state).toBe('Bound');
    await unbind(first.uuid);
    await eventually(async () => ((await vfType('5')) === '0' ? true : undefined), 60_000);
    await restartAgent();
    await reportNow();
    expect((await deployable(vfName('5')))?.attributes_list).toContain('{"vgpu_type": "1292"}');
    const second = await createArq(VGPU_40C);
    expect((await bind(second.uuid, vf.rp_uuid)).state).toBe('Bound');
    expect(await vfType('5')).toBe('1292');
    await unbind(second.uuid);
  });
});

describe('a simulated host’s agent restarted after reshapes of each kind', () => {
  const simHost = `restart-simhost-${suffix}`;
  let simAgent: RunningService | null = null;

  afterAll(async () => {
    await simAgent?.close();
  });

  const devices = async () =>
    (await call<{ devices: { uuid: string; model: string }[] }>('GET', `/v2/devices?hostname=${simHost}`)).body.devices;
  const names = async (prefix: string) => {
    const { body } = await call<{ deployables: { name: string }[] }>('GET', '/v2/deployables');
    return body.deployables
      .map((d) => d.name)
      .filter((n) => n.startsWith(`${simHost}_${prefix}`))
      .sort();
  };

  it('reports the VF count, vGPU type and MIG layout the log says, and its first report changes nothing', async () => {
    const file = join(copy.dir, 'simulated-host.yaml');
    await copyFile(new URL('../../deploy/simulated-host.yaml', import.meta.url), file);
    const settings = system.settings({
      AGENT_HOSTNAME: simHost,
      AGENT_DRIVERS: 'simulated',
      AGENT_SIMULATED_HOST_FILE: file,
      AGENT_REPORT_INTERVAL_MS: '600000',
    });
    simAgent = await startAgent(settings, quietLogger);
    const all = await eventually(async () => {
      const found = await devices();
      return found.length === 6 ? found : undefined;
    }, 60_000);
    const uuidOf = (model: string) => all.find((d) => d.model.includes(model))!.uuid;
    const reshape = (uuid: string, json: unknown) =>
      call<{ state: string }>('POST', `/v2/devices/${uuid}/reshape`, { json, headers: V24 });
    for (const [model, spec] of [
      ['XXV710', { num_vfs: 3 }],
      ['T4', { vgpu_type: 'nvidia-231' }],
      ['A100', { mig_profiles: ['3g.40gb', '2g.20gb'] }],
    ] as const) {
      const answer = await reshape(uuidOf(model), spec);
      expect({ model, status: answer.status, state: answer.body.state }).toEqual({
        model,
        status: 200,
        state: 'applied',
      });
    }
    const shaped = {
      nicVfs: await names('0000:86:02'),
      a100: await names('0000:3b:00'),
      t4Handles: (await system.store.readStream(Streams.host(simHost))).filter(
        (e) => e.type === 'AttachHandleAdded' && String((e.data as { info: string }).info).includes('nvidia-231'),
      ).length,
    };
    expect(shaped).toEqual({
      nicVfs: [0, 1, 2].map((i) => `${simHost}_0000:86:02.${i}`),
      a100: [`${simHost}_0000:3b:00.0_mig0`, `${simHost}_0000:3b:00.0_mig1`],
      t4Handles: 8,
    });
    const before = (await system.store.readStream(Streams.host(simHost))).length;

    await simAgent.close();
    simAgent = await startAgent(settings, quietLogger);
    const report = await system.rpc.request<ReportInventoryResult>(
      agentSubject(simHost, AgentWork.reportNow),
      { reason: 'test' },
      { timeoutMs: 60_000 },
    );
    expect(report.changed).toBe(false);
    // Neither this report nor the one the agent made at its start appended anything: the host is as the log says.
    const after = (await system.store.readStream(Streams.host(simHost))).slice(before);
    expect(after.filter((e) => !['HostRegistered', 'HostUp'].includes(e.type)).map((e) => e.type)).toEqual([]);
    expect(await names('0000:86:02')).toEqual(shaped.nicVfs);
    expect(await names('0000:3b:00')).toEqual(shaped.a100);
  });
});
