import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AttachHandleError, DiscoveryFailedError, type Bitstream } from '../driver';
import { checkInventory, type DiscoveredDevice } from '../inventory';
import { createDrivers, UnknownDriverError } from '../registry';
import { SimulatedDriver } from './simulated.driver';

const EXAMPLE = new URL('../../../../deploy/simulated-host.yaml', import.meta.url);

let dir: string;
let example: string;
let file: string;
let driver: SimulatedDriver;

beforeAll(async () => {
  example = await readFile(EXAMPLE, 'utf8');
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'simulated-host-'));
  file = join(dir, 'host.yaml');
  await writeFile(file, example);
  driver = new SimulatedDriver({ hostname: 'compute-1', file });
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The example host with its `faults:` section replaced, as a test or an operator would edit it. */
const writeFaults = (faults: string) => writeFile(file, example.replace(/^faults:[\s\S]*$/m, `faults:\n${faults}`));

const byModel = (devices: DiscoveredDevice[], model: string) => devices.find((d) => d.model.includes(model));
const names = (device: DiscoveredDevice | undefined) => device?.deployables.map((d) => d.name) ?? [];

async function bitstream(
  content: string,
  checksum = createHash('sha256').update(content).digest('hex'),
): Promise<Bitstream> {
  const path = join(dir, 'image.gbs');
  await writeFile(path, content);
  return { path, checksum: { algorithm: 'sha256', value: checksum } };
}

const FPGA_VF = 'compute-1_0000:5e:00.1';

describe('the simulated driver on the example host', () => {
  it('discovers the described devices as device → PF → VF trees', async () => {
    const { devices, warnings } = await driver.discover();

    expect(warnings).toEqual([]);
    expect(checkInventory(devices)).toEqual([]);
    expect(devices.map((d) => `${d.type} ${d.vendor}`)).toEqual([
      'GPU 10de',
      'GPU 10de',
      'FPGA 8086',
      'NIC 8086',
      'QAT 8086',
      'SSD 144d',
    ]);
    expect(devices.every((d) => d.driverName === 'simulated')).toBe(true);

    const [wholeGpu, vgpu, fpga, nic] = devices;
    expect(wholeGpu!.deployables).toEqual([
      {
        name: 'compute-1_0000:3b:00.0',
        numAccelerators: 1,
        driverName: 'NVIDIA',
        attributes: [
          { key: 'rc', value: 'PGPU' },
          { key: 'trait0', value: 'OWNER_CYBORG' },
          { key: 'trait1', value: 'CUSTOM_NVIDIA_20B5' },
        ],
        attachHandles: [
          { type: 'PCI', info: '{"bus": "3b", "device": "00", "domain": "0000", "function": "0"}', inUse: false },
        ],
      },
    ]);
    expect(wholeGpu!.std_board_info).toBe('{"product_id": "20b5", "controller": "3D controller"}');

    const [vgpus] = vgpu!.deployables;
    expect(vgpus!.numAccelerators).toBe(8);
    expect(vgpus!.attachHandles.map((h) => h.type)).toEqual(Array(8).fill('MDEV'));
    expect(vgpus!.attachHandles[7]!.info).toBe(
      '{"asked_type": "nvidia-223", "bus": "af", "device": "00", "domain": "0000", "function": "0", "vgpu_mark": "nvidia-223_7"}',
    );

    const [fpgaPf, ...fpgaVfs] = fpga!.deployables;
    expect(fpgaPf).toMatchObject({ name: 'compute-1_0000:5e:00.0', numAccelerators: 0, attachHandles: [] });
    expect(fpgaPf!.parentName).toBeUndefined();
    expect(fpgaVfs.map((d) => d.name)).toEqual([
      'compute-1_0000:5e:00.1',
      'compute-1_0000:5e:00.2',
      'compute-1_0000:5e:00.3',
      'compute-1_0000:5e:00.4',
    ]);
    expect(
      fpgaVfs.every((d) => d.parentName === fpgaPf!.name && d.numAccelerators === 1 && d.attachHandles.length === 1),
    ).toBe(true);

    const [nicPf, ...nicVfs] = nic!.deployables;
    expect(nicVfs).toHaveLength(8);
    expect(nicVfs.every((d) => d.parentName === nicPf!.name)).toBe(true);
    expect(nicVfs[7]!.attachHandles[0]!.info).toBe(
      '{"bus": "86", "device": "02", "domain": "0000", "function": "7", "physical_network": "physnet1"}',
    );
  });

  it('loses a device that vanishes, and finds it again when it comes back', async () => {
    await writeFaults('  devices:\n    gpu1: { present: false }\n');
    const gone = await driver.discover();
    expect(byModel(gone.devices, 'T4')).toBeUndefined();
    expect(gone.devices).toHaveLength(5);
    expect(gone.warnings).toEqual([]);

    await writeFaults('  devices:\n    gpu1: { present: true }\n');
    expect(byModel((await driver.discover()).devices, 'T4')).toBeDefined();
  });

  it('follows a change of VF count, handles included', async () => {
    await writeFaults('  devices:\n    nic0: { vfs: 3 }\n');
    const nic = byModel((await driver.discover()).devices, 'XXV710');
    expect(names(nic)).toEqual([
      'compute-1_0000:86:00.0',
      'compute-1_0000:86:02.0',
      'compute-1_0000:86:02.1',
      'compute-1_0000:86:02.2',
    ]);
    expect(nic!.deployables.flatMap((d) => d.attachHandles)).toHaveLength(3);

    await writeFaults('  devices:\n    nic0: { vfs: 12 }\n');
    const grown = byModel((await driver.discover()).devices, 'XXV710');
    expect(grown!.deployables).toHaveLength(13);
    expect(grown!.deployables.at(-1)!.name).toBe('compute-1_0000:86:03.3');

    await writeFaults('  devices:\n    nic0: { vfs: 0 }\n');
    expect(names(byModel((await driver.discover()).devices, 'XXV710'))).toEqual(['compute-1_0000:86:00.0']);
  });

  it('takes faults from setFaults() on top of the file, and setFaults({}) clears them', async () => {
    driver.setFaults({ devices: { fpga0: { vfs: 1 }, qat0: { present: false } } });
    const faulty = (await driver.discover()).devices;
    expect(byModel(faulty, 'PAC')!.deployables).toHaveLength(2);
    expect(byModel(faulty, 'QuickAssist')).toBeUndefined();

    driver.setFaults({});
    expect((await driver.discover()).devices).toHaveLength(6);
    expect(() => driver.setFaults({ devices: { nic0: { vfs: -1 } } })).toThrow(
      /devices \/ nic0 \/ vfs: expected a whole number/,
    );
  });

  it('reports the other devices when one cannot be read, naming the broken one', async () => {
    await writeFaults('  devices:\n    qat0: { discover: fail }\n');
    const { devices, warnings } = await driver.discover();
    expect(devices).toHaveLength(5);
    expect(warnings).toEqual([
      {
        driver: 'simulated',
        controlPathId: { type: 'PCI', info: { domain: '0000', bus: '3d', device: '00', function: '0' } },
        message: 'device qat0 could not be read (simulated fault discover: fail)',
      },
    ]);
  });

  it('reports the other devices when one entry of the file is invalid', async () => {
    await writeFile(file, example.replace('pci: "0000:3d:00.0"', 'pci: "3d:00.0"'));
    const { devices, warnings } = await driver.discover();
    expect(devices).toHaveLength(5);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toMatch(/devices\[4\] \(qat0\) \/ pci: expected a PCI address/);
  });

  it('waits discoveryDelayMs before answering, and gives up when aborted', async () => {
    await writeFaults('  discoveryDelayMs: 200\n');
    const started = performance.now();
    await driver.discover();
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);

    const controller = new AbortController();
    const slow = driver.discover({ signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await expect(slow).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('fails discovery with every problem listed when the file is not valid, and recovers when fixed', async () => {
    await writeFile(file, `${example}\n  oops: [\n`);
    const error: unknown = await driver.discover().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DiscoveryFailedError);
    expect((error as DiscoveryFailedError).problems[0]).toMatch(/host\.yaml:\d+:\d+: not valid YAML/);

    await writeFile(file, example);
    expect((await driver.discover()).devices).toHaveLength(6);
  });

  it('fails discovery clearly when the file is missing', async () => {
    await rm(file);
    await expect(driver.discover()).rejects.toThrow(/simulated driver: discovery failed: cannot read .*host\.yaml/);
  });
});

describe('programming a simulated FPGA', () => {
  it('succeeds with a bitstream that matches its checksum', async () => {
    expect(await driver.program({ name: FPGA_VF }, await bitstream('bits'))).toEqual({ ok: true });
  });

  it('refuses a bitstream whose checksum does not match, before touching the device', async () => {
    const result = await driver.program({ name: FPGA_VF }, await bitstream('bits', 'ab'.repeat(32)));
    expect(result).toEqual({ ok: false, reason: expect.stringContaining('fails its sha256 check') });
  });

  it('reports a refused programming with its reason (program: fail)', async () => {
    await writeFaults('  devices:\n    fpga0: { program: fail }\n');
    expect(await driver.program({ name: FPGA_VF }, await bitstream('bits'))).toEqual({
      ok: false,
      reason: 'device fpga0 refused the bitstream (simulated fault program: fail)',
    });
  });

  it('hangs until aborted (program: hang)', async () => {
    driver.setFaults({ devices: { fpga0: { program: 'hang' } } });
    const controller = new AbortController();
    const programming = driver.program({ name: FPGA_VF }, await bitstream('bits'), { signal: controller.signal });
    const settledEarly = await Promise.race([
      programming.then(
        () => true,
        () => true,
      ),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), 100)),
    ]);
    expect(settledEarly).toBe(false);

    controller.abort();
    await expect(programming).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('refuses deployables it does not have or that are not on an FPGA', async () => {
    const image = await bitstream('bits');
    expect(await driver.program({ name: 'compute-1_0000:99:00.0' }, image)).toEqual({
      ok: false,
      reason: expect.stringContaining('no deployable'),
    });
    expect(await driver.program({ name: 'compute-1_0000:3b:00.0' }, image)).toEqual({
      ok: false,
      reason: expect.stringContaining('is on GPU gpu0, which cannot be programmed'),
    });
  });
});

describe('preparing attach handles', () => {
  const vgpu = (n: number) => ({
    deployableName: 'compute-1_0000:af:00.0',
    handle: {
      type: 'MDEV' as const,
      info: `{"asked_type": "nvidia-223", "bus": "af", "device": "00", "domain": "0000", "function": "0", "vgpu_mark": "nvidia-223_${n}"}`,
    },
  });

  it('creates an mdev per handle, idempotently, and releases it', async () => {
    await driver.prepareAttachHandle({ uuid: 'u1', ...vgpu(0) });
    await driver.prepareAttachHandle({ uuid: 'u1', ...vgpu(0) });
    await expect(driver.prepareAttachHandle({ uuid: 'u2', ...vgpu(0) })).rejects.toThrow(/already has mdev u1/);
    expect(driver.activeMdevs()).toEqual(['u1']);

    await driver.releaseAttachHandle({ uuid: 'u1', ...vgpu(0) });
    await driver.releaseAttachHandle({ uuid: 'u1', ...vgpu(0) });
    await driver.prepareAttachHandle({ uuid: 'u2', ...vgpu(0) });
    expect(driver.activeMdevs()).toEqual(['u2']);
  });

  it('clears at start an mdev of a handle the log shows free, idempotently', async () => {
    await driver.prepareAttachHandle({ uuid: 'u1', ...vgpu(0) });
    await driver.prepareAttachHandle({ uuid: 'u2', ...vgpu(1) });
    await driver.clearReleasedAttachHandle({ uuid: 'u1', ...vgpu(0) });
    await driver.clearReleasedAttachHandle({ uuid: 'u1', ...vgpu(0) });
    expect(driver.activeMdevs()).toEqual(['u2']);
  });

  it('refuses a handle the host no longer has', async () => {
    await writeFaults('  devices:\n    gpu1: { present: false }\n');
    await expect(driver.prepareAttachHandle({ uuid: 'u1', ...vgpu(0) })).rejects.toBeInstanceOf(AttachHandleError);
  });
});

describe("reshapes the log kept, taken back at the agent's start", () => {
  const pci = (bus: string) => ({ type: 'PCI' as const, info: { domain: '0000', bus, device: '00', function: '0' } });
  const nic = { controlPathId: pci('86') };
  const t4 = { controlPathId: pci('af') };
  const a100 = { controlPathId: pci('3b') };

  it('gives a fresh driver the VF count, vGPU type and MIG layout a reshape gave the running one', async () => {
    expect(await driver.reshape(nic, { numVfs: 3 })).toEqual({ ok: true });
    expect(await driver.reshape(t4, { vgpuType: '231' })).toEqual({ ok: true });
    expect(await driver.reshape(a100, { migProfiles: ['3g.40gb', '4g.40gb'] })).toEqual({ ok: true });
    const reshaped = await driver.discover();

    // A restarted agent: a new driver over the same file, told what the log keeps.
    const restarted = new SimulatedDriver({ hostname: 'compute-1', file });
    expect(await restarted.discover()).not.toEqual(reshaped);
    await restarted.keepShape(nic, { numVfs: 3 });
    await restarted.keepShape(t4, { vgpuType: '231' });
    await restarted.keepShape(a100, { migProfiles: ['3g.40gb', '4g.40gb'] });
    expect(await restarted.discover()).toEqual(reshaped);
    expect(names(byModel(reshaped.devices, 'XXV710'))).toHaveLength(4);
    expect(names(byModel(reshaped.devices, 'A100'))).toEqual([
      'compute-1_0000:3b:00.0_mig0',
      'compute-1_0000:3b:00.0_mig1',
    ]);
  });

  it('replaces what it held: the log, not memory, says what the device is', async () => {
    expect(await driver.reshape(nic, { numVfs: 2 })).toEqual({ ok: true });
    await driver.keepShape(nic, { numVfs: 5 });
    expect(names(byModel((await driver.discover()).devices, 'XXV710'))).toHaveLength(6);
  });

  it("refuses, naming why, a shape the file's device cannot take, and one for a device not in the file", async () => {
    await expect(driver.keepShape(t4, { numVfs: 2 })).rejects.toThrow(
      'device gpu1 has no SR-IOV VFs to set (no VF entry)',
    );
    await expect(driver.keepShape({ controlPathId: pci('99') }, { numVfs: 2 })).rejects.toThrow(
      /no device at .*0000:99:00\.0/,
    );
    expect(names(byModel((await driver.discover()).devices, 'T4'))).toEqual(['compute-1_0000:af:00.0']);
  });
});

describe('creating drivers by name', () => {
  it('builds the enabled drivers and refuses unknown names', () => {
    expect(
      createDrivers(['fake', 'simulated', 'fake'], { hostname: 'h', simulatedHostFile: file }).map((d) => d.name),
    ).toEqual(['fake', 'simulated']);
    expect(() => createDrivers(['fake', 'nvidia'], { hostname: 'h' })).toThrow(UnknownDriverError);
  });
});
