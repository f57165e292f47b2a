import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FixtureCopy, sysfsFixture } from '../../../../test/fixtures/fixtures';
import type { Bitstream } from '../driver';
import { checkInventory, inventoryHash, type DiscoveredDevice } from '../inventory';
import { IntelFpgaDriver, fpgaconfTarget, type IntelFpgaDriverOptions } from './intel-fpga.driver';

const REGION_A10 = 'CUSTOM_FPGA_REGION_INTEL_9926AB6D6C925A68AABCA7D84C545738';
const NLB0 = 'CUSTOM_FPGA_FUNCTION_ID_INTEL_D8424DC4A4A3C413F89E433683F9040B';

function driver(options: Partial<IntelFpgaDriverOptions> = {}): IntelFpgaDriver {
  return new IntelFpgaDriver({
    hostname: 'compute-2',
    sysfsRoot: sysfsFixture('fpga-host'),
    fpgaconfPath: '/nonexistent/fpgaconf',
    ...options,
  });
}

const at = (devices: DiscoveredDevice[], bus: string) => devices.find((d) => d.controlPathId.info.bus === bus)!;
const traits = (d: { attributes: { key: string; value: string }[] }) =>
  d.attributes.filter((a) => a.key.startsWith('trait')).map((a) => a.value);

describe('the intel_fpga driver on the fpga-host fixture', () => {
  it('reports each card as device → PF deployable → VF deployables, from either kernel driver', async () => {
    const { devices } = await driver().discover();
    expect(checkInventory(devices)).toEqual([]);
    expect(devices.map((d) => `${d.controlPathId.info.bus} ${d.model}`)).toEqual([
      '3b Intel PAC D5005',
      '5e Intel PAC Arria 10 GX',
      'be Intel PAC Arria 10 GX',
    ]);

    const a10 = at(devices, '5e');
    expect(a10).toMatchObject({
      type: 'FPGA',
      vendor: '0x8086',
      std_board_info: '{"product_id": "0x09c4"}',
      vendor_board_info: 'miss_vb_info',
      driverName: 'intel_fpga',
    });
    const [pf, vf] = a10.deployables;
    expect(pf).toEqual({
      name: 'compute-2_0000:5e:00.0',
      numAccelerators: 0,
      driverName: 'intel',
      attributes: [
        { key: 'rc', value: 'FPGA' },
        { key: 'trait0', value: 'CUSTOM_FPGA_INTEL' },
        { key: 'trait1', value: 'CUSTOM_FPGA_INTEL_PAC_ARRIA10' },
        { key: 'trait2', value: REGION_A10 },
        { key: 'trait3', value: 'CUSTOM_NUMA_NODE_0' },
        { key: 'trait4', value: 'CUSTOM_PCIE_ROOT_0000_5D_00_0' },
        { key: 'numa_node', value: '0' },
        { key: 'pcie_root', value: '0000:5d:00.0' },
      ],
      attachHandles: [],
    });
    expect(vf).toEqual({
      name: 'compute-2_0000:5e:00.1',
      numAccelerators: 1,
      driverName: 'intel',
      parentName: 'compute-2_0000:5e:00.0',
      attributes: [
        { key: 'rc', value: 'FPGA' },
        { key: 'trait0', value: 'CUSTOM_FPGA_INTEL' },
        { key: 'trait1', value: 'CUSTOM_FPGA_INTEL_PAC_ARRIA10' },
        { key: 'trait2', value: REGION_A10 },
        { key: 'trait3', value: NLB0 },
        { key: 'trait4', value: 'CUSTOM_NUMA_NODE_0' },
        { key: 'trait5', value: 'CUSTOM_PCIE_ROOT_0000_5D_00_0' },
        { key: 'numa_node', value: '0' },
        { key: 'pcie_root', value: '0000:5d:00.0' },
      ],
      attachHandles: [{ type: 'PCI', info: '{"bus": "5e", "device": "00", "domain": "0000", "function": "1"}' }],
    });
  });

  it('offers a card without VFs as its PF, with the AFU on the PF', async () => {
    const [only] = at((await driver().discover()).devices, 'be').deployables;
    expect(only.numAccelerators).toBe(1);
    expect(only.parentName).toBeUndefined();
    expect(traits(only)).toEqual([
      'CUSTOM_FPGA_INTEL',
      'CUSTOM_FPGA_INTEL_PAC_ARRIA10',
      REGION_A10,
      'CUSTOM_FPGA_FUNCTION_ID_INTEL_850ADCC26CEB4B229722D43375B61C66',
      'CUSTOM_NUMA_NODE_1',
      'CUSTOM_PCIE_ROOT_0000_BD_00_0',
    ]);
  });

  it('reads the DFL layout, and gives a VF handed to vfio-pci no function trait', async () => {
    const [pf, vf] = at((await driver().discover()).devices, '3b').deployables;
    const region = 'CUSTOM_FPGA_REGION_INTEL_BFAC4D851EE856FE8C95865CE1BBAA2D';
    const topology = ['CUSTOM_NUMA_NODE_0', 'CUSTOM_PCIE_ROOT_0000_3A_00_0'];
    expect(traits(pf)).toEqual(['CUSTOM_FPGA_INTEL', 'CUSTOM_FPGA_INTEL_PAC_D5005', region, ...topology]);
    expect(vf.parentName).toBe(pf.name);
    expect(traits(vf)).toEqual(['CUSTOM_FPGA_INTEL', 'CUSTOM_FPGA_INTEL_PAC_D5005', region, ...topology]);
  });

  it("reads each card's health from its hwmon sensors and its FME and port error registers", async () => {
    const { devices } = await driver().discover();
    expect(at(devices, '5e').health).toEqual({ status: 'healthy', reasons: [] });
    expect(at(devices, '3b').health).toEqual({
      status: 'degraded',
      reasons: [
        {
          code: 'power',
          message: 'dfl_fme_power power1 at 71.0 W, at or above its maximum 66.0 W',
          evidence: {
            sensor: 'fpga_region/region0/dfl-fme.0/hwmon/hwmon3/power1',
            input: 71000000,
            crit: 80000000,
            max: 66000000,
          },
        },
      ],
    });
    expect(at(devices, 'be').health).toEqual({
      status: 'unhealthy',
      reasons: [
        {
          code: 'port_error',
          message: 'fpga/intel-fpga-dev.2/intel-fpga-port.2/errors/errors is 0x1',
          evidence: { register: 'fpga/intel-fpga-dev.2/intel-fpga-port.2/errors/errors', value: '0x1' },
        },
      ],
    });
  });

  it('leaves a card whose FPGA driver is not bound unknown, with a warning naming it', async () => {
    const { warnings } = await driver().discover();
    expect(warnings).toEqual([
      {
        driver: 'intel_fpga',
        controlPathId: { type: 'PCI', info: { domain: '0000', bus: '18', device: '00', function: '0' } },
        message: 'FPGA 0000:18:00.0 has no fpga/ or fpga_region/ in sysfs (its FPGA driver is not bound, driver: none)',
      },
    ]);
  });

  it('keeps identities stable across runs', async () => {
    const a = await driver().discover();
    const b = await driver().discover();
    expect(inventoryHash({ hostname: 'h', devices: b.devices })).toBe(
      inventoryHash({ hostname: 'h', devices: a.devices }),
    );
  });

  it('leaves the card unknown when one of its VFs cannot be read, and reports the others', async () => {
    const copy = await FixtureCopy.make();
    try {
      await rm(join(copy.sysfs('fpga-host'), 'bus', 'pci', 'devices', '0000:5e:00.1', 'vendor'));
      const { devices, warnings } = await driver({ sysfsRoot: copy.sysfs('fpga-host') }).discover();
      expect(devices.map((d) => d.controlPathId.info.bus)).toEqual(['3b', 'be']);
      expect(warnings.map((w) => [w.controlPathId?.info.bus, w.message])).toEqual([
        ['18', expect.stringContaining('driver is not bound')],
        [
          '5e',
          expect.stringMatching(
            /^FPGA 0000:5e:00\.0: its VF cannot be read: cannot read PCI function 0000:5e:00\.1: ENOENT/,
          ),
        ],
      ]);
    } finally {
      await copy.remove();
    }
  });
});

describe('programming an Intel FPGA with fpgaconf', () => {
  let copy: FixtureCopy;
  let image: Bitstream;
  const VF = 'compute-2_0000:5e:00.1';

  beforeAll(async () => {
    copy = await FixtureCopy.make();
    const path = join(copy.dir, 'nlb0.gbs');
    await writeFile(path, 'GBS bitstream bytes');
    image = {
      path,
      checksum: { algorithm: 'sha256', value: createHash('sha256').update('GBS bitstream bytes').digest('hex') },
    };
  });

  afterAll(() => copy.remove());

  beforeEach(() => rm(join(copy.dir, 'tools', 'fpgaconf.calls'), { force: true }));

  it("programs the card's PF after checking the bitstream, for a VF's deployable too", async () => {
    const intel = driver({ fpgaconfPath: await copy.tool('fpgaconf') });
    expect(await intel.program({ name: VF }, image)).toEqual({ ok: true });
    expect(
      await intel.program(
        { name: 'compute-2_0000:be:00.0' },
        {
          ...image,
          checksum: {
            algorithm: 'md5',
            value: createHash('md5').update('GBS bitstream bytes').digest('hex').toUpperCase(),
          },
        },
      ),
    ).toEqual({ ok: true });
    expect(await copy.calls('fpgaconf')).toEqual([
      `--bus 0x5e --device 0x00 --function 0x0 ${image.path}`,
      `--bus 0xbe --device 0x00 --function 0x0 ${image.path}`,
    ]);
  });

  it('refuses a bitstream that fails its checksum without running fpgaconf', async () => {
    const intel = driver({ fpgaconfPath: await copy.tool('fpgaconf') });
    const result = await intel.program(
      { name: VF },
      { ...image, checksum: { algorithm: 'sha256', value: 'ab'.repeat(32) } },
    );
    expect(result).toEqual({ ok: false, reason: expect.stringContaining('fails its sha256 check') });
    expect(await copy.calls('fpgaconf')).toEqual([]);
  });

  it("reports fpgaconf's refusal with what it said", async () => {
    const intel = driver({ fpgaconfPath: await copy.tool('fpgaconf-fail') });
    expect(await intel.program({ name: VF }, image)).toEqual({
      ok: false,
      reason:
        "fpgaconf-fail exited with status 1: Error: bitstream interface id ce489693-98f0-5f33-946d-560708be108a does not match the FPGA's (9926ab6d-6c92-5a68-aabc-a7d84c545738)",
    });
  });

  it('kills a hung fpgaconf, and what it started, when aborted', async () => {
    const intel = driver({ fpgaconfPath: await copy.tool('fpgaconf-hang') });
    const controller = new AbortController();
    const programming = intel.program({ name: VF }, image, { signal: controller.signal });
    const pidFile = join(copy.dir, 'tools', 'fpgaconf-hang.pid');
    let pid = 0;
    for (let i = 0; i < 100 && !pid; i++) {
      pid = Number(await readFile(pidFile, 'utf8').catch(() => '0'));
      if (!pid) await new Promise((r) => setTimeout(r, 20));
    }
    expect(pid).toBeGreaterThan(0);
    controller.abort(new Error('bind deadline passed'));
    await expect(programming).rejects.toThrow('bind deadline passed');
    // Neither the tool nor its sleeping child is left (once the kernel has reaped them).
    const groupGone = async () => {
      for (let i = 0; i < 250; i++) {
        try {
          process.kill(-pid, 0);
        } catch (error) {
          return (error as NodeJS.ErrnoException).code;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      return 'still running';
    };
    expect(await groupGone()).toBe('ESRCH');
  });

  it('gives up on a hung fpgaconf after the programming timeout', async () => {
    const intel = driver({ fpgaconfPath: await copy.tool('fpgaconf-hang'), programTimeoutMs: 300 });
    const started = performance.now();
    expect(await intel.program({ name: VF }, image)).toEqual({
      ok: false,
      reason: 'fpgaconf-hang did not finish within 300 ms and was killed',
    });
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('refuses deployables it does not have, and a missing fpgaconf', async () => {
    const intel = driver({ fpgaconfPath: await copy.tool('fpgaconf') });
    expect(await intel.program({ name: 'compute-2_0000:99:00.0' }, image)).toEqual({
      ok: false,
      reason: 'no Intel FPGA deployable compute-2_0000:99:00.0 on this host',
    });
    expect(await driver().program({ name: VF }, image)).toEqual({
      ok: false,
      reason: expect.stringMatching(/^cannot run \/nonexistent\/fpgaconf: spawn \/nonexistent\/fpgaconf ENOENT/),
    });
  });

  it('names the PCI segment when the card is off domain 0', () => {
    expect(fpgaconfTarget({ domain: '0001', bus: '5e', device: '00', function: '0' })).toEqual([
      '--segment',
      '0x0001',
      '--bus',
      '0x5e',
      '--device',
      '0x00',
      '--function',
      '0x0',
    ]);
  });
});
