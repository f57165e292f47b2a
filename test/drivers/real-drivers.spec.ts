import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunningService } from '@cyborg/config';
import {
  agentSubject,
  AgentWork,
  type AttachHandleWorkReply,
  type PrepareAttachHandleWork,
  type ReleaseAttachHandleWork,
  type ReportInventoryResult,
} from '@cyborg/contracts';
import { startAgent } from '../../apps/agent/src/start';
import { type ArqBody, bindOps, eventually, fault, http, novaFor, unbindOps, unique, userOf } from '../arqs/support';
import { FixtureCopy } from '../fixtures/fixtures';
import { quietLogger } from '../support/logger';
import { TestSystem } from '../support/system';

/**
 * The real drivers end to end: two agents with different hostnames, one running `pci` and
 * `nvidia_gpu` over the gpu-host fixture tree, the other `intel_fpga` and `xilinx_fpga` over the
 * fpga-host tree and its stand-in tools, through real NATS and PostgreSQL to the API; then binds
 * of their handles reach Bound, the vGPU's mdev made and an H100 VF's vGPU type set through sysfs.
 */
let system: TestSystem;
let agentB: RunningService | null = null;
let copy: FixtureCopy;
let api: string;
const suffix = randomUUID().slice(0, 6);
const hostA = `real-gpu-${suffix}`;
const hostB = `real-fpga-${suffix}`;
const project = 'project-real';

// Host A: the XXV710 PF with 4 VFs and the InfiniBand PF with 2 VFs (pci); T4 and V100 as vGPUs,
// the A100's 2 VFs with MIG-backed vGPU types, the H100's 4 VFs with vendor-VFIO vGPU types,
// the T4 on vfio-pci and the RTX 6000 whole (nvidia_gpu).
const A_DEVICES = 8;
const A_DEPLOYABLES = 5 + 3 + 1 + 1 + 3 + 5 + 1 + 1;
// Host B: D5005 (PF + VF), Arria 10 (PF + VF), Arria 10 (PF) (intel_fpga); U50 and U250 (xilinx_fpga).
const B_DEVICES = 5;
const B_DEPLOYABLES = 2 + 2 + 1 + 1 + 1;

interface Device {
  uuid: string;
  type: string;
  vendor: string;
  model: string;
  std_board_info: string | null;
  hostname: string;
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
}

interface Attribute {
  uuid: string;
  deployable_id: number;
  key: string;
  value: string;
}

const call = <T = unknown>(
  method: string,
  path: string,
  options: { json?: unknown; headers?: Record<string, string> } = {},
) => http<T>(api, method, path, options);

const devicesOf = async (hostname: string) =>
  (await call<{ devices: Device[] }>('GET', `/v2/devices?hostname=${hostname}`)).body.devices;

const deployablesOf = async (hostname: string) =>
  (await call<{ deployables: Deployable[] }>('GET', '/v2/deployables')).body.deployables.filter((d) =>
    d.name.startsWith(`${hostname}_`),
  );

async function deployable(name: string): Promise<Deployable> {
  const { body } = await call<{ deployables: Deployable[] }>(
    'GET',
    `/v2/deployables?filters.field=name&filters.value=${name}`,
  );
  expect(body.deployables).toHaveLength(1);
  return body.deployables[0];
}

/** The deployable's integer id, which `parent_id`, `root_id` and attributes' `deployable_id` use. */
async function idOf(d: Deployable): Promise<number> {
  const rows: { id: string }[] = await system.db.dataSource.query('SELECT id FROM deployables WHERE uuid = $1', [
    d.uuid,
  ]);
  return Number(rows[0].id);
}

const reportNow = (hostname: string) =>
  system.rpc.request<ReportInventoryResult>(
    agentSubject(hostname, AgentWork.reportNow),
    { reason: 'test' },
    {
      timeoutMs: 10_000,
    },
  );

async function createArq(groups: Record<string, string>[]): Promise<ArqBody> {
  const name = unique('dp-real');
  expect((await call('POST', '/v2/device_profiles', { json: [{ name, groups }] })).status).toBe(201);
  const created = await call<{ arqs: ArqBody[] }>('POST', '/v2/accelerator_requests', {
    json: { device_profile_name: name },
    headers: userOf(project),
  });
  expect(created.status).toBe(201);
  return created.body.arqs[0];
}

/** Binds as Nova does and waits until the bind has ended. */
async function bind(arq: string, hostname: string, rp: string): Promise<ArqBody> {
  const answer = await call('PATCH', '/v2/accelerator_requests', {
    json: { [arq]: bindOps(hostname, rp, randomUUID()) },
    headers: novaFor(project),
  });
  expect(answer.status).toBe(202);
  return eventually(async () => {
    const { body } = await call<ArqBody>('GET', `/v2/accelerator_requests/${arq}`, { headers: userOf(project) });
    return body.state === 'Bound' || body.state === 'BindFailed' ? body : undefined;
  });
}

beforeAll(async () => {
  copy = await FixtureCopy.make('cyborg-real-drivers-');
  system = await TestSystem.start({
    name: 'real-drivers',
    hostname: hostA,
    agentSettings: {
      AGENT_DRIVERS: 'pci,nvidia_gpu',
      AGENT_SYSFS_ROOT: copy.sysfs('gpu-host'),
      AGENT_PCI_DEVICE_SPEC: JSON.stringify([
        { address: '0000:18:00.0', physical_network: 'physnet1' },
        { vendor_id: '15b3', product_id: '101c' },
      ]),
      AGENT_NVIDIA_VGPU_TYPES: 'nvidia-223,nvidia-182,1289,nvidia-701@0000:86:00.4,nvidia-699@0000:86:00.5',
      AGENT_NVIDIA_SMI_PATH: await copy.tool('nvidia-smi'),
      AGENT_REPORT_INTERVAL_MS: '600000',
    },
  });
  api = system.apiUrl;
  agentB = await startAgent(
    system.settings({
      AGENT_HOSTNAME: hostB,
      AGENT_DRIVERS: 'intel_fpga,xilinx_fpga',
      AGENT_SYSFS_ROOT: copy.sysfs('fpga-host'),
      AGENT_LSPCI_PATH: await copy.tool('lspci'),
      AGENT_FPGACONF_PATH: await copy.tool('fpgaconf'),
      AGENT_XRT_SMI_PATH: await copy.tool('xrt-smi'),
      AGENT_REPORT_INTERVAL_MS: '600000',
    }),
    quietLogger,
  );
  for (const [hostname, devices, deployables] of [
    [hostA, A_DEVICES, A_DEPLOYABLES],
    [hostB, B_DEVICES, B_DEPLOYABLES],
  ] as const) {
    await eventually(async () => ((await devicesOf(hostname)).length === devices ? true : undefined));
    await eventually(async () => ((await deployablesOf(hostname)).length === deployables ? true : undefined));
  }
});

afterAll(async () => {
  await agentB?.close();
  await system?.close();
  await copy?.remove();
});

describe('two hosts discovered by the real drivers, through the API', () => {
  it("lists each host's devices as its drivers found them", async () => {
    const a = await devicesOf(hostA);
    expect(a.map((d) => `${d.type} ${d.vendor} ${d.model}`).sort()).toEqual([
      'GPU 10de 1db4',
      'GPU 10de 1e30',
      'GPU 10de 1eb8',
      'GPU 10de 1eb8',
      'GPU 10de 20b5',
      'GPU 10de 2330',
      'NIC 15b3 101b',
      'NIC 8086 158b',
    ]);
    const b = await devicesOf(hostB);
    expect(b.map((d) => `${d.type} ${d.vendor} ${d.model}`).sort()).toEqual([
      'FPGA 0x8086 Intel PAC Arria 10 GX',
      'FPGA 0x8086 Intel PAC Arria 10 GX',
      'FPGA 0x8086 Intel PAC D5005',
      'FPGA 10ee Xilinx Corporation Device',
      'FPGA 10ee Xilinx Corporation Device',
    ]);
    expect(b.find((d) => d.std_board_info?.includes('5004'))?.std_board_info).toBe(
      '{"product_id": "5004", "controller": "Processing accelerators"}',
    );
  });

  it('shows the device → PF → VF trees, the GPUs with their vGPU VFs among them, with parent and root', async () => {
    const nicPf = await deployable(`${hostA}_0000:18:00.0`);
    expect(nicPf).toMatchObject({ parent_id: null, root_id: null, num_accelerators: 0, driver_name: 'INTEL' });
    const nicPfId = await idOf(nicPf);
    const vfs = (await deployablesOf(hostA)).filter((d) => d.name.startsWith(`${hostA}_0000:18:02.`));
    expect(vfs).toHaveLength(4);
    for (const vf of vfs) {
      expect(vf).toMatchObject({
        parent_id: nicPfId,
        root_id: nicPfId,
        num_accelerators: 1,
        device_id: nicPf.device_id,
      });
    }

    for (const [bus, functions] of [
      ['86', ['4', '5']],
      ['41', ['4', '5', '6', '7']],
    ] as const) {
      const gpu = await deployable(`${hostA}_0000:${bus}:00.0`);
      expect(gpu.num_accelerators).toBe(0);
      const gpuId = await idOf(gpu);
      const vgpus = (await deployablesOf(hostA)).filter(
        (d) => d.name.startsWith(`${hostA}_0000:${bus}:00.`) && d.uuid !== gpu.uuid,
      );
      expect(vgpus.map((d) => [d.name.slice(hostA.length), d.parent_id, d.root_id, d.num_accelerators]).sort()).toEqual(
        functions.map((f) => [`_0000:${bus}:00.${f}`, gpuId, gpuId, 1]),
      );
    }

    const fpgaPf = await deployable(`${hostB}_0000:5e:00.0`);
    const fpgaVf = await deployable(`${hostB}_0000:5e:00.1`);
    expect(fpgaPf).toMatchObject({ parent_id: null, num_accelerators: 0, driver_name: 'intel' });
    expect(fpgaVf).toMatchObject({ parent_id: await idOf(fpgaPf), root_id: await idOf(fpgaPf), num_accelerators: 1 });
    expect(await deployable(`${hostB}_0000:d8:00.0`)).toMatchObject({
      parent_id: null,
      num_accelerators: 1,
      driver_name: 'XILINX',
    });
  });

  it("lists the drivers' resource classes and traits as attributes", async () => {
    const vf = await deployable(`${hostB}_0000:5e:00.1`);
    const { body } = await call<{ attributes: Attribute[] }>('GET', `/v2/attributes?deployable_id=${await idOf(vf)}`);
    expect(body.attributes.map((a) => [a.key, a.value]).sort()).toEqual([
      ['numa_node', '0'],
      ['pcie_root', '0000:5d:00.0'],
      ['rc', 'FPGA'],
      ['trait0', 'CUSTOM_FPGA_INTEL'],
      ['trait1', 'CUSTOM_FPGA_INTEL_PAC_ARRIA10'],
      ['trait2', 'CUSTOM_FPGA_REGION_INTEL_9926AB6D6C925A68AABCA7D84C545738'],
      ['trait3', 'CUSTOM_FPGA_FUNCTION_ID_INTEL_D8424DC4A4A3C413F89E433683F9040B'],
      ['trait4', 'CUSTOM_NUMA_NODE_0'],
      ['trait5', 'CUSTOM_PCIE_ROOT_0000_5D_00_0'],
    ]);
    const vgpu = await deployable(`${hostA}_0000:3b:00.0`);
    expect(vgpu.num_accelerators).toBe(8);
    expect(vgpu.attributes_list).toBe(
      '[{"rc": "VGPU"}, {"trait0": "OWNER_CYBORG"}, {"trait1": "CUSTOM_NVIDIA_1EB8_T4_2B"}, ' +
        '{"trait2": "CUSTOM_NUMA_NODE_0"}, {"trait3": "CUSTOM_PCIE_ROOT_0000_3A_00_0"}, ' +
        '{"numa_node": "0"}, {"pcie_root": "0000:3a:00.0"}]',
    );
    const mig = await deployable(`${hostA}_0000:86:00.4`);
    expect(mig.attributes_list).toContain('{"trait2": "CUSTOM_NVIDIA_MIG_3G_40GB"}');
  });

  it('appends nothing when the hosts are reported again unchanged', async () => {
    for (const hostname of [hostA, hostB]) {
      expect(await reportNow(hostname)).toMatchObject({ hostname, changed: false, events: 0 });
    }
  });
});

describe('binding handles of the real drivers', () => {
  it("binds an SR-IOV VF's PCI handle found by the pci driver", async () => {
    const arq = await createArq([{ 'resources:CUSTOM_PCI': '1', 'trait:CUSTOM_PCI_PRODUCT_ID_154C': 'required' }]);
    const vf = await deployable(`${hostA}_0000:18:02.0`);
    const bound = await bind(arq.uuid, hostA, vf.rp_uuid);
    expect(bound).toMatchObject({
      state: 'Bound',
      hostname: hostA,
      attach_handle_type: 'PCI',
      attach_handle_info: { domain: '0000', bus: '18', device: '02', function: '0', physical_network: 'physnet1' },
    });
  });

  it("binds an Intel FPGA VF's PCI handle on the other host", async () => {
    const arq = await createArq([{ 'resources:FPGA': '1', 'trait:CUSTOM_FPGA_INTEL': 'required' }]);
    const vf = await deployable(`${hostB}_0000:5e:00.1`);
    expect(await bind(arq.uuid, hostB, vf.rp_uuid)).toMatchObject({
      state: 'Bound',
      hostname: hostB,
      attach_handle_type: 'PCI',
      attach_handle_info: { domain: '0000', bus: '5e', device: '00', function: '1' },
    });
  });

  it("creates a vGPU's mdev at bind by writing the handle's uuid to create, and removes it at unbind", async () => {
    const arq = await createArq([{ 'resources:VGPU': '1', 'trait:CUSTOM_NVIDIA_1EB8_T4_2B': 'required' }]);
    const t4 = await deployable(`${hostA}_0000:3b:00.0`);
    const bound = await bind(arq.uuid, hostA, t4.rp_uuid);
    expect(bound).toMatchObject({ state: 'Bound', attach_handle_type: 'MDEV' });
    expect(bound.attach_handle_info).toMatchObject({ asked_type: 'nvidia-223', bus: '3b' });
    const mdev = bound.attach_handle_uuid!;
    const gpu = join(copy.sysfs('gpu-host'), 'devices', 'pci0000:3a', '0000:3a:00.0', '0000:3b:00.0');
    expect(await readFile(join(gpu, 'mdev_supported_types', 'nvidia-223', 'create'), 'utf8')).toBe(mdev);

    // What the kernel would have made of that write, so that unbind has an mdev to remove.
    const made = join(copy.sysfs('gpu-host'), 'bus', 'mdev', 'devices', mdev);
    await mkdir(made);
    await writeFile(join(made, 'remove'), '');
    const unbound = await call('PATCH', '/v2/accelerator_requests', {
      json: { [arq.uuid]: unbindOps },
      headers: novaFor(project),
    });
    expect(unbound.status).toBe(202);
    await eventually(async () => ((await readFile(join(made, 'remove'), 'utf8')) === '1' ? true : undefined));
  });

  describe("an H100 VF in NVIDIA's vendor-specific VFIO layout", () => {
    const vfType = (f: string) =>
      readFile(
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
      );
    const unbind = async (arq: string) => {
      const answer = await call('PATCH', '/v2/accelerator_requests', {
        json: { [arq]: unbindOps },
        headers: novaFor(project),
      });
      expect(answer.status).toBe(202);
    };

    it('becomes a vGPU at bind, the VF handed out as a PCI device, and is cleared at unbind', async () => {
      const arq = await createArq([{ 'resources:VGPU': '1', 'trait:CUSTOM_NVIDIA_2330_H100XM_10C': 'required' }]);
      const vf = await deployable(`${hostA}_0000:41:00.5`);
      expect(await bind(arq.uuid, hostA, vf.rp_uuid)).toMatchObject({
        state: 'Bound',
        attach_handle_type: 'PCI',
        attach_handle_info: { domain: '0000', bus: '41', device: '00', function: '5' },
      });
      expect(await vfType('5')).toBe('1289');
      await unbind(arq.uuid);
      await eventually(async () => ((await vfType('5')) === '0' ? true : undefined));
    });

    it('is not cleared by a release of an ARQ that no longer holds it', async () => {
      const first = await createArq([{ 'resources:VGPU': '1', 'trait:CUSTOM_NVIDIA_2330_H100XM_10C': 'required' }]);
      const vf = await deployable(`${hostA}_0000:41:00.6`);
      const bound = await bind(first.uuid, hostA, vf.rp_uuid);
      expect(bound.state).toBe('Bound');
      expect(await vfType('6')).toBe('1289');

      // Another ARQ takes the same handle, as a bind on another conductor would, before the first's release arrives.
      const deviceRows: { uuid: string }[] = await system.db.dataSource.query(
        'SELECT uuid FROM devices WHERE id = $1',
        [vf.device_id],
      );
      const handle = {
        uuid: bound.attach_handle_uuid!,
        type: 'PCI' as const,
        info: '{"bus": "41", "device": "00", "domain": "0000", "function": "6"}',
        deployableUuid: vf.uuid,
        deployableName: vf.name,
        deviceUuid: deviceRows[0].uuid,
        driverName: 'nvidia_gpu',
      };
      const second = randomUUID();
      const prepare: PrepareAttachHandleWork = {
        jobId: `${second}:1`,
        arqUuid: second,
        attempt: 1,
        deadline: new Date(Date.now() + 60_000).toISOString(),
        attachHandle: handle,
      };
      expect(
        await system.rpc.request<AttachHandleWorkReply>(agentSubject(hostA, AgentWork.bind), prepare, {
          timeoutMs: 10_000,
        }),
      ).toEqual({ ok: true });

      // The first ARQ's release: the conductor sends it at unbind; asking for the same job answers once it is done.
      await unbind(first.uuid);
      const release = (arqUuid: string, attempt: number): ReleaseAttachHandleWork => ({
        jobId: `${arqUuid}:${attempt}:release`,
        arqUuid,
        attachHandle: handle,
      });
      expect(
        await system.rpc.request<AttachHandleWorkReply>(agentSubject(hostA, AgentWork.unbind), release(first.uuid, 1), {
          timeoutMs: 10_000,
        }),
      ).toEqual({ ok: true });
      expect(await vfType('6')).toBe('1289');

      // The holder's own release clears it.
      expect(
        await system.rpc.request<AttachHandleWorkReply>(agentSubject(hostA, AgentWork.unbind), release(second, 1), {
          timeoutMs: 10_000,
        }),
      ).toEqual({ ok: true });
      expect(await vfType('6')).toBe('0');
    });
  });
});

describe('reshaping devices of the real drivers', () => {
  const V24 = { 'OpenStack-API-Version': 'accelerator 2.4' };
  const fileOf = (...path: string[]) => join(copy.sysfs('gpu-host'), 'devices', ...path);
  const ib = ['pci0000:b0', '0000:b0:00.0', '0000:b1:00.0'];
  const h100 = ['pci0000:40', '0000:40:01.0', '0000:41:00.0'];
  const h100Vf = (f: string) => ['pci0000:40', '0000:40:01.0', `0000:41:00.${f}`];
  const read = async (...path: string[]) => (await readFile(fileOf(...path), 'utf8')).trim();

  async function deviceOf(deployableName: string): Promise<string> {
    const rows: { uuid: string }[] = await system.db.dataSource.query('SELECT d.uuid FROM devices d WHERE d.id = $1', [
      (await deployable(deployableName)).device_id,
    ]);
    return rows[0].uuid;
  }
  const reshape = (uuid: string, json: unknown) =>
    call<Record<string, unknown>>('POST', `/v2/devices/${uuid}/reshape`, { json, headers: V24 });
  const attributesOf = async (name: string) => (await deployable(name)).attributes_list;

  it("sets an InfiniBand PF's VFs through sriov_numvfs, never above sriov_totalvfs, and reports the count", async () => {
    const device = await deviceOf(`${hostA}_0000:b1:00.0`);
    expect(await attributesOf(`${hostA}_0000:b1:00.0`)).toContain('{"num_vfs": "2"}');
    const answer = await reshape(device, { num_vfs: 4 });
    expect({ status: answer.status, state: answer.body.state }).toEqual({ status: 200, state: 'applied' });
    expect(await read(...ib, 'sriov_numvfs')).toBe('4');
    // The agent reported before it answered: the PF's deployable shows the new count.
    expect(
      await eventually(async () =>
        (await attributesOf(`${hostA}_0000:b1:00.0`)).includes('{"num_vfs": "4"}') ? true : undefined,
      ),
    ).toBe(true);

    const tooMany = await reshape(device, { num_vfs: 9 });
    expect(tooMany.status).toBe(409);
    expect(fault(tooMany)).toBe(`Reshape of device ${device} failed: 0000:b1:00.0 supports 0 to 8 VFs, not 9`);
    expect(await read(...ib, 'sriov_numvfs')).toBe('4');
  });

  it('makes every VF of an H100 a vGPU type it can create, through nvidia/current_vgpu_type, and offers them so', async () => {
    const device = await deviceOf(`${hostA}_0000:41:00.0`);
    const answer = await reshape(device, { vgpu_type: '1292' });
    expect({ status: answer.status, state: answer.body.state }).toEqual({ status: 200, state: 'applied' });
    for (const f of ['4', '5', '6', '7']) expect(await read(...h100Vf(f), 'nvidia', 'current_vgpu_type')).toBe('1292');
    expect(
      await eventually(async () => {
        const list = await attributesOf(`${hostA}_0000:41:00.5`);
        return list.includes('{"vgpu_type": "1292"}') && list.includes('CUSTOM_NVIDIA_2330_H100XM_40C')
          ? list
          : undefined;
      }),
    ).toBeDefined();

    const notCreatable = await reshape(device, { vgpu_type: '1400' });
    expect(notCreatable.status).toBe(409);
    expect(fault(notCreatable)).toBe(
      `Reshape of device ${device} failed: vGPU type 1400 is not creatable on VF 0000:41:00.4 of GPU 0000:41:00.0 now (see nvidia/creatable_vgpu_types)`,
    );
    for (const f of ['4', '5', '6', '7']) expect(await read(...h100Vf(f), 'nvidia', 'current_vgpu_type')).toBe('1292');
  });

  it("sets an H100's VF count through sriov_numvfs", async () => {
    const device = await deviceOf(`${hostA}_0000:41:00.0`);
    expect((await reshape(device, { num_vfs: 8 })).status).toBe(200);
    expect(await read(...h100, 'sriov_numvfs')).toBe('8');
    expect(
      await eventually(async () =>
        (await attributesOf(`${hostA}_0000:41:00.0`)).includes('{"num_vfs": "8"}') ? true : undefined,
      ),
    ).toBe(true);
  });

  it('refuses a MIG layout on a real GPU, saying why', async () => {
    const device = await deviceOf(`${hostA}_0000:86:00.0`);
    const refused = await reshape(device, { mig_profiles: ['3g.40gb'] });
    expect(refused.status).toBe(409);
    expect(fault(refused)).toBe(
      `Reshape of device ${device} failed: MIG layouts are not applied on real GPUs: GPU instances are made with nvidia-smi mig -cgi, which this agent does not run; create them on the host, then reshape GPU 0000:86:00.0 to a MIG-backed vGPU type`,
    );
  });
});
