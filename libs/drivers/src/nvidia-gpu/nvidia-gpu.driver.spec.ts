import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FixtureCopy, sysfsFixture, toolFixture } from '../../../../test/fixtures/fixtures';
import { AttachHandleError, DriverConfigurationError, type AttachHandleTarget } from '../driver';
import { checkInventory, inventoryHash, type DiscoveredDevice } from '../inventory';
import { NvidiaGpuDriver, type NvidiaGpuDriverOptions } from './nvidia-gpu.driver';
import { parseLostGpus, parseNvidiaSmiXml } from './nvidia-smi';
import { migProfileOf, parseCreatableVgpuTypes } from './vgpu-vf';
import { parseXidLog } from './xid';

// T4 and V100 (pre-Ampere mdev on the PF), MIG-backed types pinned to the A100's VFs, H100XM-10C (id 1289) on the H100's VFs.
const VGPU_TYPES = 'nvidia-223,nvidia-182,nvidia-259@0000:d8:00.0,nvidia-701@0000:86:00.4,nvidia-699@0000:86:00.5,1289';

function driver(options: Partial<NvidiaGpuDriverOptions> = {}): NvidiaGpuDriver {
  return new NvidiaGpuDriver({
    hostname: 'compute-1',
    sysfsRoot: sysfsFixture('gpu-host'),
    vgpuTypes: VGPU_TYPES,
    nvidiaSmiPath: toolFixture('nvidia-smi'),
    xidLogPath: toolFixture('outputs/kern-log.txt'),
    ...options,
  });
}

const at = (devices: DiscoveredDevice[], bus: string) => devices.find((d) => d.controlPathId.info.bus === bus);
const cp = (bus: string) => ({ type: 'PCI' as const, info: { domain: '0000', bus, device: '00', function: '0' } });
const traitsOf = (attributes: { key: string; value: string }[]) =>
  attributes.filter((a) => a.key.startsWith('trait')).map((a) => a.value);
const codes = (d: DiscoveredDevice | undefined) => d?.health?.reasons.map((r) => r.code);

describe('the nvidia_gpu driver on the gpu-host fixture', () => {
  it('reports whole GPUs, pre-Ampere vGPUs and SR-IOV vGPUs on VFs, each NVIDIA GPU once', async () => {
    const { devices, warnings } = await driver().discover();
    expect(checkInventory(devices)).toEqual([]);
    // T4 (vGPU), H100 (VFIO VFs), V100 (vGPU), A100 (mdev VFs), T4 on vfio-pci (whole). Not the Matrox, audio, USB.
    expect(devices.map((d) => `${d.controlPathId.info.bus} ${d.model} ${d.deployables.length}`)).toEqual([
      '3b 1eb8 1',
      '41 2330 5',
      '5e 1db4 1',
      '86 20b5 3',
      'af 1eb8 1',
    ]);
    expect(devices.every((d) => d.type === 'GPU' && d.vendor === '10de' && d.driverName === 'nvidia_gpu')).toBe(true);
    expect(warnings).toEqual([
      {
        driver: 'nvidia_gpu',
        controlPathId: cp('d9'),
        message: expect.stringMatching(/^cannot read PCI function 0000:d9:00\.0/),
      },
      {
        driver: 'nvidia_gpu',
        controlPathId: cp('d8'),
        message: expect.stringMatching(
          /^cannot read vGPU type nvidia-259 of GPU 0000:d8:00\.0: ENOENT: .*nvidia-259\/available_instances/,
        ),
      },
    ]);
  });

  it("counts a pre-Ampere vGPU type's instances as available plus made, one MDEV handle each, upstream's attach info", async () => {
    const t4 = at((await driver().discover()).devices, '3b')!;
    expect(t4.std_board_info).toBe('{"product_id": "1eb8", "controller": "3D controller"}');
    expect(t4.vendor_board_info).toBe('{"vendor_info": "gpu_vb_info"}');
    const [vgpu] = t4.deployables;
    expect(vgpu).toMatchObject({
      name: 'compute-1_0000:3b:00.0',
      numAccelerators: 8,
      driverName: 'NVIDIA',
      attributes: [
        { key: 'rc', value: 'VGPU' },
        { key: 'trait0', value: 'OWNER_CYBORG' },
        { key: 'trait1', value: 'CUSTOM_NVIDIA_1EB8_T4_2B' },
        { key: 'trait2', value: 'CUSTOM_NUMA_NODE_0' },
        { key: 'trait3', value: 'CUSTOM_PCIE_ROOT_0000_3A_00_0' },
        { key: 'numa_node', value: '0' },
        { key: 'pcie_root', value: '0000:3a:00.0' },
      ],
    });
    expect(vgpu.attachHandles).toHaveLength(8);
    expect(vgpu.attachHandles[7]).toEqual({
      type: 'MDEV',
      info: '{"asked_type": "nvidia-223", "bus": "3b", "device": "00", "domain": "0000", "function": "0", "vgpu_mark": "nvidia-223_7"}',
    });

    const v100 = at((await driver().discover()).devices, '5e')!.deployables[0];
    expect(v100.numAccelerators).toBe(4);
    expect(v100.attributes[2]).toEqual({ key: 'trait1', value: 'CUSTOM_NVIDIA_1DB4_V100_4Q' });
  });

  it('passes a GPU on vfio-pci through whole, with its NUMA node and PCIe root', async () => {
    const [whole] = at((await driver().discover()).devices, 'af')!.deployables;
    expect(whole).toEqual({
      name: 'compute-1_0000:af:00.0',
      numAccelerators: 1,
      driverName: 'NVIDIA',
      attributes: [
        { key: 'rc', value: 'PGPU' },
        { key: 'trait0', value: 'OWNER_CYBORG' },
        { key: 'trait1', value: 'CUSTOM_NVIDIA_1EB8' },
        { key: 'trait2', value: 'CUSTOM_NUMA_NODE_1' },
        { key: 'trait3', value: 'CUSTOM_PCIE_ROOT_0000_AE_00_0' },
        { key: 'numa_node', value: '1' },
        { key: 'pcie_root', value: '0000:ae:00.0' },
      ],
      attachHandles: [{ type: 'PCI', info: '{"bus": "af", "device": "00", "domain": "0000", "function": "0"}' }],
    });
  });

  it("offers an H100's VFs in the vendor-specific VFIO layout, one PCI handle each, under the PF", async () => {
    const h100 = at((await driver().discover()).devices, '41')!;
    const [pf, ...vfs] = h100.deployables;
    expect(pf).toMatchObject({ name: 'compute-1_0000:41:00.0', numAccelerators: 0, attachHandles: [] });
    expect(vfs.map((d) => [d.name, d.numAccelerators, d.parentName])).toEqual(
      ['4', '5', '6', '7'].map((f) => [`compute-1_0000:41:00.${f}`, 1, pf.name]),
    );
    expect(vfs[1].attachHandles).toEqual([
      { type: 'PCI', info: '{"bus": "41", "device": "00", "domain": "0000", "function": "5"}' },
    ]);
    expect(traitsOf(vfs[1].attributes)).toEqual([
      'OWNER_CYBORG',
      'CUSTOM_NVIDIA_2330_H100XM_10C',
      'CUSTOM_NUMA_NODE_0',
      'CUSTOM_PCIE_ROOT_0000_40_01_0',
    ]);
    expect(vfs[1].attributes.find((a) => a.key === 'vgpu_type')).toEqual({ key: 'vgpu_type', value: '1289' });
  });

  it("offers MIG-backed vGPU types on an A100's VFs in the mdev layout, not bare GPU instances", async () => {
    const a100 = at((await driver().discover()).devices, '86')!;
    const [pf, ...vfs] = a100.deployables;
    expect(pf).toMatchObject({ name: 'compute-1_0000:86:00.0', numAccelerators: 0, attachHandles: [] });
    expect(vfs.map((d) => [d.name, d.numAccelerators, d.parentName, traitsOf(d.attributes).slice(1, 3)])).toEqual([
      ['compute-1_0000:86:00.4', 1, pf.name, ['CUSTOM_NVIDIA_20B5_A100D_3_40C', 'CUSTOM_NVIDIA_MIG_3G_40GB']],
      ['compute-1_0000:86:00.5', 1, pf.name, ['CUSTOM_NVIDIA_20B5_A100D_1_10C', 'CUSTOM_NVIDIA_MIG_1G_10GB']],
    ]);
    expect(vfs[0].attachHandles).toEqual([
      {
        type: 'MDEV',
        info: '{"asked_type": "nvidia-701", "bus": "86", "device": "00", "domain": "0000", "function": "4", "vgpu_mark": "nvidia-701_0"}',
      },
    ]);
    expect(vfs[0].attributes.slice(-2)).toEqual([
      { key: 'vgpu_type', value: 'nvidia-701' },
      { key: 'mig_profile', value: '3g.40gb' },
    ]);
    // A MIG-backed type with no GPU instance free is offered with nothing available.
    const full = await driver({ vgpuTypes: 'nvidia-702@0000:86:00.0' }).discover();
    expect(
      at(full.devices, '86')!
        .deployables.slice(1)
        .map((d) => [d.numAccelerators, d.attachHandles.length]),
    ).toEqual([
      [0, 1],
      [0, 1],
    ]);
  });

  it('passes every GPU through whole without vGPU types or nvidia-smi', async () => {
    for (const nvidiaSmiPath of ['', '/nonexistent/nvidia-smi']) {
      const { devices, warnings } = await driver({ vgpuTypes: '', nvidiaSmiPath, xidLogPath: '' }).discover();
      expect(devices.map((d) => d.controlPathId.info.bus)).toEqual(['3b', '41', '5e', '86', 'af', 'd8']);
      expect(devices.every((d) => d.deployables.length === 1 && d.deployables[0].attributes[0].value === 'PGPU')).toBe(
        true,
      );
      expect(warnings.map((w) => w.controlPathId?.info.bus)).toEqual(['d9']);
      // Only what sysfs tells: the V100's non-fatal AER error, the RTX 6000's link at x8 of x16.
      expect(devices.map((d) => d.health?.status)).toEqual([
        'healthy',
        'healthy',
        'degraded',
        'healthy',
        'healthy',
        'degraded',
      ]);
    }
  });

  it('warns about a vGPU type pinned to a GPU or VF that does not offer it, or to no GPU', async () => {
    const { devices, warnings } = await driver({
      vgpuTypes: 'nvidia-182@0000:3b:00.0,nvidia-223@0000:99:00.0,nvidia-999@0000:86:00.4,1289@0000:41:00.0',
    }).discover();
    expect(at(devices, '3b')).toBeUndefined();
    expect(at(devices, '86')).toBeUndefined();
    expect(at(devices, '5e')!.deployables[0].attributes[0].value).toBe('PGPU');
    expect(at(devices, '41')!.deployables).toHaveLength(5);
    expect(warnings.map((w) => w.message)).toEqual([
      expect.stringMatching(/^cannot read PCI function 0000:d9:00\.0/),
      'vGPU type nvidia-182 is enabled for GPU 0000:3b:00.0, which offers nvidia-222, nvidia-223, nvidia-224, nvidia-230',
      'vGPU type nvidia-999 is enabled for VF 0000:86:00.4, which offers nvidia-699, nvidia-700, nvidia-701, nvidia-702, nvidia-703',
      'vGPU type nvidia-223 is enabled for 0000:99:00.0, which is not an NVIDIA GPU or one of its VFs here',
    ]);
  });

  it('refuses an invalid vGPU type list when it is built', () => {
    expect(() => driver({ vgpuTypes: 'nvidia-223@3b:00.0' })).toThrow(DriverConfigurationError);
    expect(() => driver({ vgpuTypes: 'nvidia-223@0000:3b:00.0,nvidia-222@0000:3b:00.0' })).toThrow(
      /GPU 0000:3b:00\.0 is given two vGPU types, nvidia-223 and nvidia-222/,
    );
    expect(() => driver({ vgpuTypes: 'nvidia 223' })).toThrow(/is not an mdev type name/);
  });

  it('keeps identities stable across runs', async () => {
    const a = await driver().discover();
    const b = await driver().discover();
    expect(inventoryHash({ hostname: 'h', devices: b.devices })).toBe(
      inventoryHash({ hostname: 'h', devices: a.devices }),
    );
  });

  it('stops when aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stopping'));
    await expect(driver().discover({ signal: controller.signal })).rejects.toThrow('stopping');
  });
});

describe('the health the nvidia_gpu driver sees', () => {
  it('reads ECC, row remapping, retired pages, recovery action, lost GPUs, XIDs, AER and link', async () => {
    const { devices } = await driver({ vgpuTypes: '' }).discover();
    expect(devices.map((d) => [d.controlPathId.info.bus, d.health?.status, codes(d)])).toEqual([
      ['3b', 'degraded', ['ecc_uncorrectable_aggregate']],
      ['41', 'healthy', []],
      ['5e', 'degraded', ['aer_nonfatal', 'xid', 'ecc_uncorrectable_aggregate', 'retired_pages']],
      ['86', 'unhealthy', ['ecc_uncorrectable', 'row_remap_pending', 'recovery_action']],
      ['af', 'healthy', []],
      ['d8', 'unhealthy', ['link_downtrained', 'fallen_off_bus', 'fallen_off_bus']],
    ]);
    const rtx = at(devices, 'd8')!.health!;
    expect(rtx.reasons[1]).toEqual({
      code: 'fallen_off_bus',
      message: 'XID 79: GPU has fallen off the bus.',
      evidence: { xid: 79, line: expect.stringContaining('NVRM: Xid (PCI:0000:d8:00): 79') },
    });
    expect(rtx.reasons[2].message).toBe('nvidia-smi: GPU is lost.  Reboot the system to recover this GPU');
    expect(at(devices, '86')!.health!.reasons[0].evidence).toEqual({ 'volatile.dram_uncorrectable': 1 });
  });

  it('makes the GPUs on the NVIDIA driver degraded when nvidia-smi fails, and still reports them', async () => {
    const { devices } = await driver({ nvidiaSmiPath: toolFixture('nvidia-smi-broken'), xidLogPath: '' }).discover();
    expect(devices.map((d) => d.controlPathId.info.bus)).toEqual(['3b', '41', '5e', '86', 'af']);
    const t4 = at(devices, '3b')!.health!;
    expect(t4.status).toBe('degraded');
    expect(t4.reasons[0]).toMatchObject({
      code: 'nvidia_smi_failed',
      message: expect.stringMatching(/Failed to initialize NVML: Driver\/library version mismatch/),
    });
    expect(at(devices, 'af')!.health).toEqual({ status: 'healthy', reasons: [] });
  });

  it('parses the nvsmi XML fields, lost GPU lines and XID lines on their own', () => {
    const xml = `<nvidia_smi_log><gpu id="00000001:AF:00.0"><ecc_errors><volatile><double_bit><device_memory>2</device_memory>
      <total>2</total></double_bit></volatile><aggregate><sram_threshold_exceeded>Yes</sram_threshold_exceeded></aggregate>
      </ecc_errors><retired_pages><pending_retirement>Yes</pending_retirement></retired_pages></gpu></nvidia_smi_log>`;
    const health = parseNvidiaSmiXml(xml).get('0001:af:00.0')!;
    expect(health.status).toBe('unhealthy');
    expect(health.reasons.map((r) => r.code)).toEqual([
      'ecc_uncorrectable',
      'ecc_sram_threshold',
      'retired_pages_pending',
    ]);
    expect([...parseLostGpus('Unable to determine the device handle for GPU0000:3B:00.0: Unknown Error\n')]).toEqual([
      ['0000:3b:00.0', 'Unknown Error'],
    ]);
    const xids = parseXidLog(
      'NVRM: Xid (PCI:0000:3b:00): 13, pid=1, name=a, Graphics Exception\nNVRM: Xid (PCI:0000:3b:00): 63, pid=1, name=a, Row remapping event\n',
    );
    expect(xids.get('0000:3b:00')).toMatchObject({
      status: 'degraded',
      reasons: [{ code: 'xid', message: 'XID 63: Row remapping event' }],
    });
  });
});

describe('vGPU type names', () => {
  it("reads creatable_vgpu_types and a MIG-backed type's profile", () => {
    expect(
      parseCreatableVgpuTypes('ID    : vGPU Name\n1414  : NVIDIA H200X-1-18C\n941   : NVIDIA RTX6000-Ada-1Q\n'),
    ).toEqual([
      { type: '1414', name: 'NVIDIA H200X-1-18C' },
      { type: '941', name: 'NVIDIA RTX6000-Ada-1Q' },
    ]);
    expect(parseCreatableVgpuTypes('ID    : vGPU Name\n')).toEqual([]);
    expect(
      ['NVIDIA A100-1-5C', 'NVIDIA H100XM-1-10C', 'NVIDIA A100D-1-10CME', 'NVIDIA H100XM-10C'].map(migProfileOf),
    ).toEqual(['1g.5gb', '1g.10gb', '1g.10gb+me', null]);
  });
});

describe('mdevs at bind and unbind', () => {
  let copy: FixtureCopy;
  let sysfs: string;
  let nvidia: NvidiaGpuDriver;
  const t4 = 'devices/pci0000:3a/0000:3a:00.0/0000:3b:00.0';
  const uuid = '0b4c2d6e-8f1a-4b3c-9d5e-7f6a8b9c0d1e';

  const vgpu = (bus: string, type: string, n: number, id = uuid): AttachHandleTarget => ({
    uuid: id,
    deployableName: `compute-1_0000:${bus}:00.0`,
    handle: {
      type: 'MDEV',
      info: `{"asked_type": "${type}", "bus": "${bus}", "device": "00", "domain": "0000", "function": "0", "vgpu_mark": "${type}_${n}"}`,
    },
  });
  const createFile = () => join(sysfs, t4, 'mdev_supported_types', 'nvidia-223', 'create');

  /** What the kernel does on a write to `create`: the mdev appears under the GPU and on the mdev bus. */
  async function kernelCreates(id: string): Promise<void> {
    await mkdir(join(sysfs, t4, id));
    await symlink('../mdev_supported_types/nvidia-223', join(sysfs, t4, id, 'mdev_type'));
    await writeFile(join(sysfs, t4, id, 'remove'), '');
    await symlink(`../../../${t4}/${id}`, join(sysfs, 'bus', 'mdev', 'devices', id));
  }

  beforeEach(async () => {
    copy = await FixtureCopy.make();
    sysfs = copy.sysfs('gpu-host');
    nvidia = driver({ sysfsRoot: sysfs });
  });

  afterEach(() => copy.remove());

  it('creates the mdev by writing the handle uuid to create, once', async () => {
    await nvidia.prepareAttachHandle(vgpu('3b', 'nvidia-223', 3));
    expect(await readFile(createFile(), 'utf8')).toBe(uuid);

    await kernelCreates(uuid);
    await writeFile(createFile(), '');
    await nvidia.prepareAttachHandle(vgpu('3b', 'nvidia-223', 3));
    expect(await readFile(createFile(), 'utf8')).toBe('');

    // The mdev the fixture already has is accepted as it is.
    await nvidia.prepareAttachHandle(vgpu('3b', 'nvidia-223', 0, '5b2e4c1a-6f1d-4a8e-9d3c-0e7f2a1b3c4d'));
    expect(await readFile(createFile(), 'utf8')).toBe('');
  });

  it('refuses an mdev uuid already used for another type or GPU, and a type the GPU lacks', async () => {
    await kernelCreates(uuid);
    await expect(nvidia.prepareAttachHandle(vgpu('5e', 'nvidia-182', 0))).rejects.toThrow(
      new AttachHandleError(
        'nvidia_gpu',
        `mdev ${uuid} already exists as nvidia-223 on 0000:3b:00.0, not nvidia-182 on 0000:5e:00.0`,
      ),
    );
    await expect(
      nvidia.prepareAttachHandle(vgpu('3b', 'nvidia-999', 0, '1a2b3c4d-0000-4000-8000-000000000001')),
    ).rejects.toThrow(/cannot create mdev .* of type nvidia-999 on GPU 0000:3b:00\.0: ENOENT/);
    await expect(nvidia.prepareAttachHandle(vgpu('3b', 'nvidia-223', 0, 'not-a-uuid'))).rejects.toBeInstanceOf(
      AttachHandleError,
    );
  });

  it('removes the mdev by writing 1 to remove, and releasing again is fine', async () => {
    await kernelCreates(uuid);
    await nvidia.releaseAttachHandle(vgpu('3b', 'nvidia-223', 3));
    expect(await readFile(join(sysfs, t4, uuid, 'remove'), 'utf8')).toBe('1');

    await rm(join(sysfs, 'bus', 'mdev', 'devices', uuid));
    await rm(join(sysfs, t4, uuid), { recursive: true });
    await nvidia.releaseAttachHandle(vgpu('3b', 'nvidia-223', 3));
    await nvidia.releaseAttachHandle(vgpu('3b', 'nvidia-223', 3));
  });

  it('needs nothing for a whole GPU', async () => {
    const pci: AttachHandleTarget = {
      uuid,
      deployableName: 'compute-1_0000:af:00.0',
      handle: { type: 'PCI', info: '{"bus": "af", "device": "00", "domain": "0000", "function": "0"}' },
    };
    await expect(nvidia.prepareAttachHandle(pci)).resolves.toBeUndefined();
    await nvidia.releaseAttachHandle(pci);
  });

  it("clears at start the mdev named by a handle the log shows free, only when it is that handle's", async () => {
    const removeFile = join(sysfs, t4, uuid, 'remove');
    // Nothing there: nothing to do.
    await nvidia.clearReleasedAttachHandle(vgpu('3b', 'nvidia-223', 3));
    await kernelCreates(uuid);
    // The uuid names an mdev of another type or parent than the handle's: not this handle's prepare, left.
    await nvidia.clearReleasedAttachHandle(vgpu('5e', 'nvidia-182', 0));
    await nvidia.clearReleasedAttachHandle(vgpu('3b', 'nvidia-222', 3));
    expect(await readFile(removeFile, 'utf8')).toBe('');
    await nvidia.clearReleasedAttachHandle(vgpu('3b', 'nvidia-223', 3));
    expect(await readFile(removeFile, 'utf8')).toBe('1');
    // The fixture's other mdev, under its own uuid, is never looked at.
    const other = join(sysfs, t4, '5b2e4c1a-6f1d-4a8e-9d3c-0e7f2a1b3c4d', 'remove');
    expect(await readFile(other, 'utf8')).not.toBe('1');
  });

  it("creates a MIG-backed vGPU's mdev on its VF", async () => {
    const vf = vgpu('86', 'nvidia-701', 0);
    vf.handle.info = vf.handle.info.replace('"function": "0"', '"function": "4"');
    await nvidia.prepareAttachHandle(vf);
    const create = join(sysfs, 'devices/pci0000:85/0000:85:00.0/0000:86:00.4/mdev_supported_types/nvidia-701/create');
    expect(await readFile(create, 'utf8')).toBe(uuid);
  });
});

describe('vendor-specific VFIO vGPUs at bind and unbind', () => {
  let copy: FixtureCopy;
  let nvidia: NvidiaGpuDriver;
  const vfDir = (f: string) => join(copy.sysfs('gpu-host'), `devices/pci0000:40/0000:40:01.0/0000:41:00.${f}/nvidia`);
  const current = (f: string) => readFile(join(vfDir(f), 'current_vgpu_type'), 'utf8');
  const vf = (f: string): AttachHandleTarget => ({
    uuid: '7c1e2d3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f',
    deployableName: `compute-1_0000:41:00.${f}`,
    handle: { type: 'PCI', info: `{"bus": "41", "device": "00", "domain": "0000", "function": "${f}"}` },
  });

  beforeEach(async () => {
    copy = await FixtureCopy.make();
    nvidia = driver({ sysfsRoot: copy.sysfs('gpu-host') });
  });

  afterEach(() => copy.remove());

  it('writes the type id to current_vgpu_type at bind and 0 at unbind, each once', async () => {
    await nvidia.prepareAttachHandle(vf('5'));
    expect(await current('5')).toBe('1289');
    await nvidia.prepareAttachHandle(vf('5'));
    expect(await current('5')).toBe('1289');
    await nvidia.releaseAttachHandle(vf('5'));
    expect(await current('5')).toBe('0');
    await nvidia.releaseAttachHandle(vf('5'));
    expect(await current('5')).toBe('0');
  });

  it('clears at start the type of a VF the log shows free when it is one the driver gives, idempotently', async () => {
    await writeFile(join(vfDir('5'), 'current_vgpu_type'), '1289');
    await nvidia.clearReleasedAttachHandle(vf('5'));
    expect(await current('5')).toBe('0');
    await nvidia.clearReleasedAttachHandle(vf('5'));
    expect(await current('5')).toBe('0');
  });

  it('leaves at start a VF the operator set to a type the driver does not give it', async () => {
    await writeFile(join(vfDir('6'), 'current_vgpu_type'), '1292');
    await nvidia.clearReleasedAttachHandle(vf('6'));
    expect(await current('6')).toBe('1292');
    // Once the log gives the GPU that type by a reshape, it is the driver's.
    await nvidia.keepShape({ controlPathId: cp('41') }, { vgpuType: '1292' });
    await nvidia.clearReleasedAttachHandle(vf('6'));
    expect(await current('6')).toBe('0');
    await writeFile(join(vfDir('7'), 'current_vgpu_type'), '1289');
    await nvidia.clearReleasedAttachHandle(vf('7'));
    expect(await current('7')).toBe('1289');
  });

  it('refuses a VF that already is another type, and keeps a VF holding its type offered', async () => {
    await writeFile(join(vfDir('6'), 'current_vgpu_type'), '1292');
    await expect(nvidia.prepareAttachHandle(vf('6'))).rejects.toThrow(/VF 0000:41:00\.6 has no enabled vGPU type/);
    await writeFile(join(vfDir('6'), 'current_vgpu_type'), '0');
    await nvidia.prepareAttachHandle(vf('6'));
    await nvidia.discover();
    // The GPU is full now: the other VFs list only the header, and stay with nothing available.
    for (const f of ['4', '5', '7']) await writeFile(join(vfDir(f), 'creatable_vgpu_types'), 'ID    : vGPU Name\n');
    const h100 = at((await nvidia.discover()).devices, '41')!;
    expect(h100.deployables.slice(1).map((d) => [d.name.slice(-1), d.numAccelerators])).toEqual([
      ['4', 0],
      ['5', 0],
      ['6', 1],
      ['7', 0],
    ]);
    await expect(nvidia.prepareAttachHandle(vf('7'))).rejects.toThrow(/has no room for another NVIDIA H100XM-10C/);
  });
});
