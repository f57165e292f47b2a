import { readlink, rm, symlink, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { FixtureCopy, sysfsFixture } from '../../../../test/fixtures/fixtures';
import { AttachHandleError, DiscoveryFailedError, DriverConfigurationError } from '../driver';
import { checkInventory, inventoryHash, type DiscoveredDevice } from '../inventory';
import { createDriver } from '../registry';
import { PciPassthroughDriver } from './pci.driver';

const GPU_HOST = sysfsFixture('gpu-host');

function driver(spec: unknown, sysfsRoot = GPU_HOST): PciPassthroughDriver {
  return new PciPassthroughDriver({ hostname: 'compute-1', sysfsRoot, deviceSpec: JSON.stringify(spec) });
}

const at = (devices: DiscoveredDevice[], bus: string) => devices.find((d) => d.controlPathId.info.bus === bus);
const cp = (bdf: string) => {
  const [domain, bus, rest] = bdf.split(':');
  const [device, fn] = rest.split('.');
  return { type: 'PCI' as const, info: { domain, bus, device, function: fn } };
};

describe('the pci driver on the gpu-host fixture', () => {
  it("offers an SR-IOV PF's VFs, named by the PF's address, under the PF whatever driver each VF is on", async () => {
    const { devices, warnings } = await driver([{ address: '0000:18:00.0', physical_network: 'physnet1' }]).discover();
    expect(warnings).toEqual([]);
    expect(checkInventory(devices)).toEqual([]);
    expect(devices).toHaveLength(1);
    const [nic] = devices;
    expect(nic).toMatchObject({
      type: 'NIC',
      vendor: '8086',
      model: '158b',
      std_board_info: '{"product_id": "158b", "controller": "Ethernet controller"}',
      vendor_board_info: 'miss_vb_info',
      controlPathId: cp('0000:18:00.0'),
      driverName: 'pci',
    });
    const [pf, ...vfs] = nic.deployables;
    expect(pf).toEqual({
      name: 'compute-1_0000:18:00.0',
      numAccelerators: 0,
      driverName: 'INTEL',
      attributes: [
        { key: 'rc', value: 'CUSTOM_PCI' },
        { key: 'trait0', value: 'OWNER_CYBORG' },
        { key: 'trait1', value: 'CUSTOM_PCI_INTEL' },
        { key: 'trait2', value: 'CUSTOM_PCI_PRODUCT_ID_158B' },
        { key: 'trait3', value: 'CUSTOM_NUMA_NODE_0' },
        { key: 'trait4', value: 'CUSTOM_PCIE_ROOT_0000_17_00_0' },
        { key: 'numa_node', value: '0' },
        { key: 'pcie_root', value: '0000:17:00.0' },
        { key: 'num_vfs', value: '4' },
      ],
      attachHandles: [],
    });
    expect(nic.health).toEqual({ status: 'healthy', reasons: [] });
    // vfio-pci, vfio-pci, iavf and no driver at all: all four are offered.
    expect(vfs.map((d) => d.name)).toEqual([
      'compute-1_0000:18:02.0',
      'compute-1_0000:18:02.1',
      'compute-1_0000:18:02.2',
      'compute-1_0000:18:02.3',
    ]);
    expect(vfs[3]).toEqual({
      name: 'compute-1_0000:18:02.3',
      numAccelerators: 1,
      driverName: 'INTEL',
      parentName: 'compute-1_0000:18:00.0',
      attributes: [
        { key: 'rc', value: 'CUSTOM_PCI' },
        { key: 'trait0', value: 'OWNER_CYBORG' },
        { key: 'trait1', value: 'CUSTOM_PCI_INTEL' },
        { key: 'trait2', value: 'CUSTOM_PCI_PRODUCT_ID_154C' },
        { key: 'trait3', value: 'CUSTOM_NUMA_NODE_0' },
        { key: 'trait4', value: 'CUSTOM_PCIE_ROOT_0000_17_00_0' },
        { key: 'numa_node', value: '0' },
        { key: 'pcie_root', value: '0000:17:00.0' },
      ],
      attachHandles: [
        {
          type: 'PCI',
          info: '{"bus": "18", "device": "02", "domain": "0000", "function": "3", "physical_network": "physnet1"}',
        },
      ],
    });
  });

  it("offers a PF with no VFs whole, and the same PF's VFs when asked by the PF's interface", async () => {
    const whole = await driver([{ address: '0000:18:00.*' }]).discover();
    expect(whole.devices.map((d) => d.deployables.map((x) => [x.name, x.numAccelerators]))).toEqual([
      [['compute-1_0000:18:00.0', 1]],
      [['compute-1_0000:18:00.1', 1]],
    ]);
    expect(whole.devices[1].deployables[0].attachHandles).toEqual([
      { type: 'PCI', info: '{"bus": "18", "device": "00", "domain": "0000", "function": "1"}' },
    ]);

    const byName = await driver([{ devname: 'ens1f0' }]).discover();
    const byAddress = await driver([{ address: '0000:18:00.0' }]).discover();
    expect(byName).toEqual(byAddress);
  });

  it('groups InfiniBand VFs picked by vendor and product under their PF, which is not offered itself', async () => {
    const { devices } = await driver([{ vendor_id: '15b3', product_id: '101c', resource_class: 'ib_vf' }]).discover();
    expect(devices).toHaveLength(1);
    expect(devices[0]).toMatchObject({
      type: 'NIC',
      vendor: '15b3',
      std_board_info: '{"product_id": "101b", "controller": "Infiniband controller"}',
    });
    expect(devices[0].deployables.map((d) => [d.name, d.numAccelerators, d.parentName, d.driverName])).toEqual([
      ['compute-1_0000:b1:00.0', 0, undefined, '15B3'],
      ['compute-1_0000:b1:00.1', 1, 'compute-1_0000:b1:00.0', '15B3'],
      ['compute-1_0000:b1:00.2', 1, 'compute-1_0000:b1:00.0', '15B3'],
    ]);
    expect(devices[0].deployables[1].attributes.slice(0, 2)).toEqual([
      { key: 'rc', value: 'CUSTOM_IB_VF' },
      { key: 'trait0', value: 'OWNER_CYBORG' },
    ]);
  });

  it('reports a GPU as a GPU (upstream calls everything GPU) with the tags of its spec', async () => {
    const { devices } = await driver([
      { address: '0000:af:00.0', resource_class: 'PGPU', traits: 'CUSTOM_T4_WHOLE' },
      { address: '0000:00:14.0' },
    ]).discover();
    expect(devices.map((d) => [d.type, d.vendor, d.model])).toEqual([
      ['GPU', '8086', 'a36d'],
      ['GPU', '10de', '1eb8'],
    ]);
    expect(at(devices, 'af')!.deployables[0].attributes).toEqual([
      { key: 'rc', value: 'PGPU' },
      { key: 'trait0', value: 'OWNER_CYBORG' },
      { key: 'trait1', value: 'CUSTOM_PCI_NVIDIA' },
      { key: 'trait2', value: 'CUSTOM_PCI_PRODUCT_ID_1EB8' },
      { key: 'trait3', value: 'CUSTOM_T4_WHOLE' },
      { key: 'trait4', value: 'CUSTOM_NUMA_NODE_1' },
      { key: 'trait5', value: 'CUSTOM_PCIE_ROOT_0000_AE_00_0' },
      { key: 'numa_node', value: '1' },
      { key: 'pcie_root', value: '0000:ae:00.0' },
    ]);
    // On the root bus, the host bridge is the root.
    expect(at(devices, '00')!.deployables[0].attributes.slice(-1)).toEqual([{ key: 'pcie_root', value: 'pci0000:00' }]);
    // A USB controller fits none of Cyborg's types: upstream's GPU it is.
    expect(at(devices, '00')!.std_board_info).toBe('{"product_id": "a36d", "controller": "USB controller"}');
  });

  it("reports a function's AER errors and a link that is down as its health", async () => {
    const { devices } = await driver([{ address: '0000:18:00.1' }, { address: '0000:5e:00.0' }]).discover();
    expect(at(devices, '18')!.health).toEqual({
      status: 'unhealthy',
      reasons: [
        {
          code: 'aer_fatal',
          message: '1 fatal PCIe error(s) on 0000:18:00.1 since boot (MalfTLP 1)',
          evidence: { function: '0000:18:00.1', aer_dev_fatal: 1, aer_dev_nonfatal: 0, aer_dev_correctable: 0 },
        },
        {
          code: 'link_down',
          message: 'the PCIe link of 0000:18:00.1 is down',
          evidence: {
            function: '0000:18:00.1',
            current_link_speed: 'Unknown',
            max_link_speed: '8.0 GT/s PCIe',
            current_link_width: '0',
            max_link_width: '8',
          },
        },
      ],
    });
    const v100 = at(devices, '5e')!.health!;
    expect(v100.status).toBe('degraded');
    expect(v100.reasons.map((r) => r.code)).toEqual(['aer_nonfatal']);
  });

  it('offers nothing with an empty whitelist', async () => {
    expect(await driver([]).discover()).toEqual({ devices: [], warnings: [] });
  });

  it('reports the rest of the host when a whitelisted function cannot be read, naming it', async () => {
    const { devices, warnings } = await driver([{}]).discover();
    expect(checkInventory(devices)).toEqual([]);
    expect(warnings).toEqual([
      {
        driver: 'pci',
        controlPathId: cp('0000:d9:00.0'),
        message: expect.stringMatching(/^cannot read PCI function 0000:d9:00\.0: ENOENT/),
      },
    ]);
    // Every readable function is offered: chipset, BMC display, NICs, GPUs and their functions, IB.
    expect(devices.map((d) => d.controlPathId.info.bus).join(' ')).toBe('00 03 18 18 3b 41 5e 86 af b1 d8 d8 d8');
    // The GPU VFs of the A100 hang under it.
    expect(at(devices, '86')!.deployables.map((d) => d.name)).toEqual([
      'compute-1_0000:86:00.0',
      'compute-1_0000:86:00.4',
      'compute-1_0000:86:00.5',
    ]);
    // An unreadable function outside the whitelist is none of this driver's business.
    expect((await driver([{ address: '*:18:*.*' }]).discover()).warnings).toEqual([]);
  });

  it('keeps identities stable across runs and when libvirt moves a VF between drivers', async () => {
    const spec = [{ address: '0000:18:00.0', physical_network: 'physnet1' }, { vendor_id: '10de' }];
    const first = await driver(spec).discover();
    const second = await driver(spec).discover();
    expect(inventoryHash({ hostname: 'h', devices: second.devices })).toBe(
      inventoryHash({ hostname: 'h', devices: first.devices }),
    );

    const copy = await FixtureCopy.make();
    try {
      const vf = join(copy.sysfs('gpu-host'), 'bus', 'pci', 'devices', '0000:18:02.2');
      expect(await readlink(join(vf, 'driver'))).toMatch(/iavf$/);
      await unlink(join(vf, 'driver'));
      await symlink('../../../../bus/pci/drivers/vfio-pci', join(vf, 'driver'));
      await rm(join(vf, 'net'), { recursive: true });
      const rebound = await driver(spec, copy.sysfs('gpu-host')).discover();
      expect(rebound.devices).toEqual(first.devices);
    } finally {
      await copy.remove();
    }
  });

  it('refuses an invalid whitelist when it is built, naming the entry', () => {
    expect(() => driver([{ address: '0000:18:00.0' }, { vendor: '8086' }])).toThrow(DriverConfigurationError);
    expect(() => createDriver('pci', { hostname: 'h', pciDeviceSpec: '[{"address": "0000:5e:zz.0"}]' })).toThrow(
      /pci driver: invalid configuration: device spec \[0\]: address: slot "zz"/,
    );
  });

  it('fails discovery when there is no sysfs to read', async () => {
    await expect(driver([{}], '/nonexistent/sys').discover()).rejects.toBeInstanceOf(DiscoveryFailedError);
  });

  it('prepares a PCI handle of a function that is there, and refuses one that is gone', async () => {
    const pci = driver([{ address: '0000:18:00.0' }]);
    const handle = (bdf: string) => ({
      uuid: '3f1e2d4c-5b6a-4978-8a9b-0c1d2e3f4a5b',
      deployableName: `compute-1_${bdf}`,
      handle: { type: 'PCI' as const, info: '' },
    });
    const ok = handle('0000:18:02.1');
    ok.handle.info = '{"bus": "18", "device": "02", "domain": "0000", "function": "1"}';
    await expect(pci.prepareAttachHandle(ok)).resolves.toBeUndefined();
    const gone = handle('0000:d9:00.0');
    gone.handle.info = '{"bus": "d9", "device": "00", "domain": "0000", "function": "0"}';
    await expect(pci.prepareAttachHandle(gone)).rejects.toBeInstanceOf(AttachHandleError);
    await expect(pci.prepareAttachHandle({ ...ok, handle: { type: 'MDEV', info: ok.handle.info } })).rejects.toThrow(
      /is not a PCI function/,
    );
  });
});
