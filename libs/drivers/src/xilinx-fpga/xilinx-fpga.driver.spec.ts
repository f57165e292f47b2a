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
    xbmgmtPath: '/nonexistent/xbmgmt',
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
          ],
          attachHandles: [
            { type: 'PCI', info: '{"bus": "d8", "device": "00", "domain": "0000", "function": "0"}' },
            { type: 'PCI', info: '{"bus": "d8", "device": "00", "domain": "0000", "function": "1"}' },
          ],
        },
      ],
    });
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

describe('programming an Alveo card with xbmgmt', () => {
  let copy: FixtureCopy;
  let image: Bitstream;

  beforeAll(async () => {
    copy = await FixtureCopy.make();
    const path = join(copy.dir, 'shell.xsabin');
    await writeFile(path, 'xsabin bytes');
    image = {
      path,
      checksum: { algorithm: 'sha512', value: createHash('sha512').update('xsabin bytes').digest('hex') },
    };
  });

  afterAll(() => copy.remove());

  beforeEach(() => rm(join(copy.dir, 'tools', 'xbmgmt.calls'), { force: true }));

  it('flashes through the management PF, its address written as xbmgmt reads it', async () => {
    const xilinx = driver({ xbmgmtPath: await copy.tool('xbmgmt') });
    expect(await xilinx.program({ name: 'compute-2_0000:d8:00.0' }, image)).toEqual({ ok: true });
    expect(await copy.calls('xbmgmt')).toEqual([`program --device 0000:d8:00.0 --base --image ${image.path}`]);
  });

  it('refuses a bad checksum before xbmgmt runs, and reports what a failing xbmgmt said', async () => {
    const failing = driver({ xbmgmtPath: await copy.tool('xbmgmt-fail') });
    const bad = { ...image, checksum: { algorithm: 'sha512' as const, value: '00'.repeat(64) } };
    expect(await failing.program({ name: 'compute-2_0000:86:00.0' }, bad)).toEqual({
      ok: false,
      reason: expect.stringContaining('fails its sha512 check'),
    });
    expect(await copy.calls('xbmgmt')).toEqual([]);
    expect(await failing.program({ name: 'compute-2_0000:86:00.0' }, image)).toEqual({
      ok: false,
      reason:
        'xbmgmt-fail exited with status 1: ERROR: Image is not compatible with the platform on device 0000:d8:00.0',
    });
  });

  it('refuses a deployable it does not have, and answers when lspci fails', async () => {
    const xilinx = driver({ xbmgmtPath: await copy.tool('xbmgmt') });
    expect(await xilinx.program({ name: 'compute-2_0000:5e:00.0' }, image)).toEqual({
      ok: false,
      reason: 'no Xilinx FPGA deployable compute-2_0000:5e:00.0 on this host',
    });
    const blind = driver({ xbmgmtPath: await copy.tool('xbmgmt'), lspciPath: toolFixture('lspci-broken') });
    expect(await blind.program({ name: 'compute-2_0000:d8:00.0' }, image)).toEqual({
      ok: false,
      reason: expect.stringContaining('xilinx_fpga driver: discovery failed: lspci-broken exited with status 1'),
    });
  });
});
