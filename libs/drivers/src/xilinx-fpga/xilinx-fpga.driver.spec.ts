import { createHash } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FixtureCopy, sysfsFixture, toolFixture } from '../../../../test/fixtures/fixtures';
import { DiscoveryFailedError, type Bitstream } from '../driver';
import { checkInventory, inventoryHash } from '../inventory';
import { parseLspci } from './lspci';
import { XilinxFpgaDriver, type XilinxFpgaDriverOptions } from './xilinx-fpga.driver';

function driver(options: Partial<XilinxFpgaDriverOptions> = {}): XilinxFpgaDriver {
  return new XilinxFpgaDriver({
    hostname: 'compute-2',
    sysfsRoot: sysfsFixture('fpga-host'),
    lspciPath: toolFixture('lspci'),
    xrtSmiPath: '/nonexistent/xrt-smi',
    ...options,
  });
}

describe('the xilinx_fpga driver on the fpga-host fixture', () => {
  it("reports each Alveo card's PFs as one device of one accelerator with a handle per PF", async () => {
    const { devices, warnings } = await driver().discover();
    expect(warnings).toEqual([]);
    expect(checkInventory(devices)).toEqual([]);
    // The Intel cards and the Xilinx memory controller are not Alveo accelerators.
    expect(devices.map((d) => d.controlPathId.info.bus)).toEqual(['86', 'd8']);
    expect(devices[1]).toEqual({
      type: 'FPGA',
      vendor: '10ee',
      model: 'Xilinx Corporation Device',
      std_board_info: '{"product_id": "5004", "controller": "Processing accelerators"}',
      vendor_board_info: '{"vendor_info": "fpga_vb_info"}',
      controlPathId: { type: 'PCI', info: { domain: '0000', bus: 'd8', device: '00', function: '0' } },
      driverName: 'xilinx_fpga',
      deployables: [
        {
          name: 'compute-2_0000:d8:00.0',
          numAccelerators: 1,
          driverName: 'XILINX',
          attributes: [
            { key: 'rc', value: 'FPGA' },
            { key: 'trait0', value: 'CUSTOM_FPGA_XILINX' },
            { key: 'trait1', value: 'CUSTOM_FPGA_PRODUCT_ID_5004' },
            { key: 'trait2', value: 'CUSTOM_NUMA_NODE_1' },
            { key: 'trait3', value: 'CUSTOM_PCIE_ROOT_0000_D7_00_0' },
            { key: 'numa_node', value: '1' },
            { key: 'pcie_root', value: '0000:d7:00.0' },
          ],
          attachHandles: [
            { type: 'PCI', info: '{"bus": "d8", "device": "00", "domain": "0000", "function": "0"}' },
            { type: 'PCI', info: '{"bus": "d8", "device": "00", "domain": "0000", "function": "1"}' },
          ],
        },
      ],
      health: {
        status: 'degraded',
        reasons: [
          {
            code: 'temperature',
            message: 'xclmgmt temp1 at 88.0 C, at or above its maximum 85.0 C',
            evidence: { sensor: 'hwmon/hwmon5/temp1', input: 88000, crit: 97000, max: 85000 },
          },
        ],
      },
    });
    expect(devices[0].health).toEqual({ status: 'healthy', reasons: [] });
  });

  it('keeps identities stable across runs', async () => {
    const a = await driver().discover();
    const b = await driver().discover();
    expect(inventoryHash({ hostname: 'h', devices: b.devices })).toBe(
      inventoryHash({ hostname: 'h', devices: a.devices }),
    );
  });

  it('fails discovery, keeping what it last knew, when lspci fails or is missing', async () => {
    const broken = await driver({ lspciPath: toolFixture('lspci-broken') })
      .discover()
      .catch((e: unknown) => e);
    expect(broken).toBeInstanceOf(DiscoveryFailedError);
    expect((broken as DiscoveryFailedError).problems).toEqual([
      'lspci-broken exited with status 1: pcilib: Cannot open /sys/bus/pci/devices | lspci: Cannot find any working access method.',
    ]);
    await expect(driver({ lspciPath: '/nonexistent/lspci' }).discover()).rejects.toThrow(
      /xilinx_fpga driver: discovery failed: cannot run \/nonexistent\/lspci/,
    );
  });

  it('reads lspci lines with or without revisions, and skips anything else', () => {
    expect(
      parseLspci(
        '0000:d8:00.1 Processing accelerators [1200]: Xilinx Corporation Device [10ee:5005] (rev 02)\nnot a line\n',
      ),
    ).toEqual([
      {
        bdf: '0000:d8:00.1',
        address: { domain: '0000', bus: 'd8', device: '00', function: '1' },
        controller: 'Processing accelerators',
        classCode: '1200',
        model: 'Xilinx Corporation Device',
        vendor: '10ee',
        product: '5005',
      },
    ]);
  });
});

describe('programming an Alveo card with xrt-smi', () => {
  let copy: FixtureCopy;
  let image: Bitstream;

  beforeAll(async () => {
    copy = await FixtureCopy.make();
    const path = join(copy.dir, 'kernels.xclbin');
    await writeFile(path, 'xclbin bytes');
    image = {
      path,
      checksum: { algorithm: 'sha512', value: createHash('sha512').update('xclbin bytes').digest('hex') },
    };
  });

  afterAll(() => copy.remove());

  beforeEach(() => rm(join(copy.dir, 'tools', 'xrt-smi.calls'), { force: true }));

  it("loads the user's xclbin through the user PF, never flashing the base partition", async () => {
    const xilinx = driver({ xrtSmiPath: await copy.tool('xrt-smi') });
    expect(await xilinx.program({ name: 'compute-2_0000:d8:00.0' }, image)).toEqual({ ok: true });
    expect(await copy.calls('xrt-smi')).toEqual([`program --device 0000:d8:00.1 --user ${image.path}`]);
  });

  it('refuses a bad checksum before xrt-smi runs, and reports what a failing xrt-smi said', async () => {
    const failing = driver({ xrtSmiPath: await copy.tool('xrt-smi-fail') });
    const bad = { ...image, checksum: { algorithm: 'sha512' as const, value: '00'.repeat(64) } };
    expect(await failing.program({ name: 'compute-2_0000:d8:00.0' }, bad)).toEqual({
      ok: false,
      reason: expect.stringContaining('fails its sha512 check'),
    });
    expect(await copy.calls('xrt-smi')).toEqual([]);
    expect(await failing.program({ name: 'compute-2_0000:d8:00.0' }, image)).toEqual({
      ok: false,
      reason:
        'xrt-smi-fail exited with status 1: ERROR: The xclbin is not compatible with the shell on device 0000:d8:00.1',
    });
  });

  it('refuses a card whose user PF is given to a guest, a deployable it does not have, and answers when lspci fails', async () => {
    const xilinx = driver({ xrtSmiPath: await copy.tool('xrt-smi') });
    expect(await xilinx.program({ name: 'compute-2_0000:86:00.0' }, image)).toEqual({
      ok: false,
      reason:
        'Xilinx FPGA compute-2_0000:86:00.0 has no user function on xocl to load an xclbin through (0000:86:00.0 on xclmgmt, 0000:86:00.1 on vfio-pci)',
    });
    expect(await xilinx.program({ name: 'compute-2_0000:5e:00.0' }, image)).toEqual({
      ok: false,
      reason: 'no Xilinx FPGA deployable compute-2_0000:5e:00.0 on this host',
    });
    expect(await copy.calls('xrt-smi')).toEqual([]);
    const blind = driver({ xrtSmiPath: await copy.tool('xrt-smi'), lspciPath: toolFixture('lspci-broken') });
    expect(await blind.program({ name: 'compute-2_0000:d8:00.0' }, image)).toEqual({
      ok: false,
      reason: expect.stringContaining('xilinx_fpga driver: discovery failed: lspci-broken exited with status 1'),
    });
  });
});
