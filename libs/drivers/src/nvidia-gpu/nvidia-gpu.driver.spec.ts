import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FixtureCopy, sysfsFixture, toolFixture } from '../../../../test/fixtures/fixtures';
import { AttachHandleError, DriverConfigurationError, type AttachHandleTarget } from '../driver';
import { checkInventory, inventoryHash, type DiscoveredDevice } from '../inventory';
import { NvidiaGpuDriver, type NvidiaGpuDriverOptions } from './nvidia-gpu.driver';
import { parseGpuInstances, parseGpuQuery } from './nvidia-smi';

const VGPU_TYPES = 'nvidia-223,nvidia-182,nvidia-259@0000:d8:00.0';

function driver(options: Partial<NvidiaGpuDriverOptions> = {}): NvidiaGpuDriver {
  return new NvidiaGpuDriver({
    hostname: 'compute-1',
    sysfsRoot: sysfsFixture('gpu-host'),
    vgpuTypes: VGPU_TYPES,
    nvidiaSmiPath: toolFixture('nvidia-smi'),
    ...options,
  });
}

const at = (devices: DiscoveredDevice[], bus: string) => devices.find((d) => d.controlPathId.info.bus === bus);
const cp = (bus: string) => ({ type: 'PCI' as const, info: { domain: '0000', bus, device: '00', function: '0' } });

describe('the nvidia_gpu driver on the gpu-host fixture', () => {
  it('reports whole GPUs, vGPU GPUs and MIG GPUs, each NVIDIA GPU once', async () => {
    const { devices, warnings } = await driver().discover();
    expect(checkInventory(devices)).toEqual([]);
    // T4 (vGPU), V100 (vGPU), A100 (MIG), T4 on vfio-pci (whole). Not the Matrox, the audio or USB functions, the A100's VFs.
    expect(devices.map((d) => `${d.controlPathId.info.bus} ${d.model} ${d.deployables.length}`)).toEqual([
      '3b 1eb8 1',
      '5e 1db4 1',
      '86 20b5 4',
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

  it("counts a vGPU type's instances as available plus made, one MDEV handle each, upstream's attach info", async () => {
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

  it('passes a GPU on vfio-pci through whole', async () => {
    const [whole] = at((await driver().discover()).devices, 'af')!.deployables;
    expect(whole).toEqual({
      name: 'compute-1_0000:af:00.0',
      numAccelerators: 1,
      driverName: 'NVIDIA',
      attributes: [
        { key: 'rc', value: 'PGPU' },
        { key: 'trait0', value: 'OWNER_CYBORG' },
        { key: 'trait1', value: 'CUSTOM_NVIDIA_1EB8' },
      ],
      attachHandles: [{ type: 'PCI', info: '{"bus": "af", "device": "00", "domain": "0000", "function": "0"}' }],
    });
  });

  it('reports one deployable per MIG GPU instance under the GPU', async () => {
    const a100 = at((await driver().discover()).devices, '86')!;
    const [gpu, ...instances] = a100.deployables;
    expect(gpu).toMatchObject({ name: 'compute-1_0000:86:00.0', numAccelerators: 0, attachHandles: [] });
    expect(gpu.attributes[0]).toEqual({ key: 'rc', value: 'PGPU' });
    expect(instances.map((d) => [d.name, d.numAccelerators, d.parentName, d.attributes[2].value])).toEqual([
      ['compute-1_0000:86:00.0_gi2', 1, gpu.name, 'CUSTOM_NVIDIA_20B5_MIG_3G_40GB'],
      ['compute-1_0000:86:00.0_gi3', 1, gpu.name, 'CUSTOM_NVIDIA_20B5_MIG_2G_20GB'],
      ['compute-1_0000:86:00.0_gi9', 1, gpu.name, 'CUSTOM_NVIDIA_20B5_MIG_1G_10GB'],
    ]);
    expect(instances[0].attributes[0]).toEqual({ key: 'rc', value: 'VGPU' });
    expect(instances[2].attachHandles).toEqual([
      {
        type: 'MDEV',
        info: '{"asked_type": "MIG-1g.10gb", "bus": "86", "device": "00", "domain": "0000", "function": "0", "vgpu_mark": "MIG-1g.10gb_9"}',
      },
    ]);

    const empty = await driver({ nvidiaSmiPath: toolFixture('nvidia-smi-no-instances') }).discover();
    expect(at(empty.devices, '86')!.deployables.map((d) => d.name)).toEqual(['compute-1_0000:86:00.0']);
  });

  it('passes every GPU through whole without vGPU types or nvidia-smi', async () => {
    for (const nvidiaSmiPath of ['', '/nonexistent/nvidia-smi']) {
      const { devices, warnings } = await driver({ vgpuTypes: '', nvidiaSmiPath }).discover();
      expect(devices.map((d) => d.controlPathId.info.bus)).toEqual(['3b', '5e', '86', 'af', 'd8']);
      expect(devices.every((d) => d.deployables.length === 1 && d.deployables[0].attributes[0].value === 'PGPU')).toBe(
        true,
      );
      expect(warnings.map((w) => w.controlPathId?.info.bus)).toEqual(['d9']);
    }
  });

  it('leaves the GPUs on the NVIDIA driver unknown when nvidia-smi fails, and reports the others', async () => {
    const { devices, warnings } = await driver({ nvidiaSmiPath: toolFixture('nvidia-smi-broken') }).discover();
    expect(devices.map((d) => d.controlPathId.info.bus)).toEqual(['af']);
    expect(warnings.filter((w) => /MIG mode/.test(w.message)).map((w) => w.controlPathId?.info.bus)).toEqual([
      '3b',
      '5e',
      '86',
      'd8',
    ]);
    expect(warnings[1].message).toMatch(
      /^cannot tell whether GPU 0000:3b:00\.0 is in MIG mode: nvidia-smi-broken exited with status 18: Failed to initialize NVML: Driver\/library version mismatch \| NVML/,
    );
  });

  it('warns about a vGPU type pinned to a GPU that does not offer it, or to no GPU', async () => {
    const { devices, warnings } = await driver({
      vgpuTypes: 'nvidia-182@0000:3b:00.0,nvidia-223@0000:99:00.0',
    }).discover();
    expect(at(devices, '3b')).toBeUndefined();
    expect(at(devices, '5e')!.deployables[0].attributes[0].value).toBe('PGPU');
    expect(warnings.map((w) => w.message)).toEqual([
      expect.stringMatching(/^cannot read PCI function 0000:d9:00\.0/),
      'vGPU type nvidia-182 is enabled for GPU 0000:3b:00.0, which offers nvidia-222, nvidia-223, nvidia-224, nvidia-230',
      'vGPU type nvidia-223 is enabled for 0000:99:00.0, which is not an NVIDIA GPU here',
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

describe('reading nvidia-smi', () => {
  it('reads the GPU query and the GPU instance table', () => {
    expect(
      parseGpuQuery('0, 00000000:3B:00.0, [N/A]\n1, 00000001:86:00.0, Enabled\n2, 12345678:af:00.0, Disabled\n'),
    ).toEqual([
      { index: 0, bdf: '0000:3b:00.0', migEnabled: false },
      { index: 1, bdf: '0001:86:00.0', migEnabled: true },
    ]);
    expect(
      parseGpuInstances(
        '|=====|\n|   0  MIG 1g.10gb+me       20        13          3:1     |\n+-----+\n| GPU instances: |\n',
      ),
    ).toEqual([{ gpuIndex: 0, profile: '1g.10gb+me', profileId: 20, instanceId: 13 }]);
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

  it('needs nothing for a whole GPU, and checks that a GPU instance still exists', async () => {
    const pci: AttachHandleTarget = {
      uuid,
      deployableName: 'compute-1_0000:af:00.0',
      handle: { type: 'PCI', info: '{"bus": "af", "device": "00", "domain": "0000", "function": "0"}' },
    };
    await expect(nvidia.prepareAttachHandle(pci)).resolves.toBeUndefined();
    await expect(nvidia.prepareAttachHandle(vgpu('86', 'MIG-3g.40gb', 2))).resolves.toBeUndefined();
    await expect(nvidia.prepareAttachHandle(vgpu('86', 'MIG-1g.10gb', 5))).rejects.toThrow(
      /GPU 0000:86:00\.0 has no GPU instance 5 any more/,
    );
    await nvidia.releaseAttachHandle(vgpu('86', 'MIG-3g.40gb', 2));
  });
});
