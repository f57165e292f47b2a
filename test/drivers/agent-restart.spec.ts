import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunningService, Settings } from '@cyborg/config';
import {
  agentSubject,
  AgentWork,
  type AttachHandleDto,
  type AttachHandleWorkReply,
  type ReleaseAttachHandleWork,
  type ReportInventoryResult,
} from '@cyborg/contracts';
import { startAgent } from '../../apps/agent/src/start';
import { type ArqBody, bindOps, eventually, http, novaFor, unbindOps, unique, userOf } from '../arqs/support';
import { FixtureCopy } from '../fixtures/fixtures';
import { quietLogger } from '../support/logger';
import { TestSystem } from '../support/system';

/**
 * An agent restarted over a real GPU host (the gpu-host fixture tree, `nvidia_gpu`) forgets
 * nothing the log says: which ARQ holds each H100 VF, and the vGPU type a reshape gave the
 * GPU. Real NATS and PostgreSQL; the agent is stopped and started again between the steps.
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
