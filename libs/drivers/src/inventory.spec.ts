import { checkInventory, inventoryHash, type DiscoveredDevice, type HostInventory } from './inventory';
import { fakeDevice } from './fake/fake.driver';
import { mdevAttachInfo, offsetPciAddress, parsePciAddress, pciAttachInfo, pythonJsonDumps } from './pci';

const pci = (text: string) => parsePciAddress(text)!;

function nic(): DiscoveredDevice {
  const vf = (fn: number) => ({
    name: `compute-1_0000:86:02.${fn}`,
    numAccelerators: 1,
    driverName: 'intel',
    parentName: 'compute-1_0000:86:00.0',
    attributes: [
      { key: 'rc', value: 'CUSTOM_NIC' },
      { key: 'trait0', value: 'CUSTOM_VF' },
    ],
    attachHandles: [
      { type: 'PCI' as const, info: pciAttachInfo(pci(`0000:86:02.${fn}`), 'physnet1'), inUse: false as const },
    ],
  });
  return {
    type: 'NIC',
    vendor: '8086',
    model: 'XXV710',
    std_board_info: '{"product_id": "158b", "controller": "Ethernet controller"}',
    vendor_board_info: null,
    controlPathId: { type: 'PCI', info: pci('0000:86:00.0') },
    driverName: 'simulated',
    deployables: [
      {
        name: 'compute-1_0000:86:00.0',
        numAccelerators: 0,
        driverName: 'intel',
        attributes: [{ key: 'rc', value: 'CUSTOM_NIC' }],
        attachHandles: [],
      },
      vf(0),
      vf(1),
    ],
  };
}

const host = (): HostInventory => ({ hostname: 'compute-1', devices: [fakeDevice('compute-1'), nic()] });

/** Every list at every level in the opposite order. */
function reversed(inv: HostInventory): HostInventory {
  return {
    hostname: inv.hostname,
    devices: [...inv.devices].reverse().map((d) => ({
      ...d,
      deployables: [...d.deployables].reverse().map((dep) => ({
        ...dep,
        attributes: [...dep.attributes].reverse(),
        attachHandles: [...dep.attachHandles].reverse(),
      })),
    })),
  };
}

describe('inventoryHash', () => {
  it('is the same for an unchanged host whatever order discovery listed things in', () => {
    expect(inventoryHash(reversed(host()))).toBe(inventoryHash(host()));
    expect(inventoryHash(host())).toMatch(/^[0-9a-f]{64}$/);
  });

  it('does not depend on whether a driver spelled out inUse: false', () => {
    const inv = host();
    for (const d of inv.devices) {
      for (const dep of d.deployables) dep.attachHandles = dep.attachHandles.map(({ type, info }) => ({ type, info }));
    }
    expect(inventoryHash(inv)).toBe(inventoryHash(host()));
  });

  it.each<[string, (inv: HostInventory) => void]>([
    ['the hostname', (inv) => (inv.hostname = 'compute-2')],
    ['a device model', (inv) => (inv.devices[1]!.model = 'X710')],
    ['std_board_info', (inv) => (inv.devices[1]!.std_board_info = null)],
    ['a control path', (inv) => (inv.devices[1]!.controlPathId.info.bus = '87')],
    ['a trait', (inv) => (inv.devices[1]!.deployables[1]!.attributes[1]!.value = 'CUSTOM_PF')],
    ['an accelerator count', (inv) => (inv.devices[0]!.deployables[0]!.numAccelerators = 15)],
    ['a VF removed', (inv) => inv.devices[1]!.deployables.pop()],
    ['an attach handle removed', (inv) => inv.devices[0]!.deployables[0]!.attachHandles.pop()],
    ['an attach handle type', (inv) => (inv.devices[1]!.deployables[1]!.attachHandles[0]!.type = 'TEST_PCI')],
    ['a parent link', (inv) => delete inv.devices[1]!.deployables[1]!.parentName],
    ['a driver name', (inv) => (inv.devices[1]!.deployables[0]!.driverName = 'simulated')],
    ['a device removed', (inv) => inv.devices.shift()],
  ])('changes when %s changes', (_what, change) => {
    const inv = host();
    change(inv);
    expect(inventoryHash(inv)).not.toBe(inventoryHash(host()));
  });
});

describe('checkInventory', () => {
  it('finds nothing wrong with a consistent host', () => {
    expect(checkInventory(host().devices)).toEqual([]);
  });

  it('blames the second of two devices on one control path, and keeps the first', () => {
    const problems = checkInventory([fakeDevice('a'), fakeDevice('b')]);
    expect([...new Set(problems.map((p) => p.deviceIndex))]).toEqual([1]);
    expect(problems[0]!.message).toContain('PCI:0000:0c:00.0 is reported twice');
  });

  it('finds dangling parents, clashing names and accelerators without a resource class', () => {
    const device = nic();
    device.deployables[1]!.parentName = 'nowhere';
    device.deployables[2]!.name = device.deployables[0]!.name;
    device.deployables[0]!.numAccelerators = 1;
    device.deployables[0]!.attributes = [];
    const messages = checkInventory([device]).map((p) => p.message);
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringContaining('parent nowhere is not on the same device'),
        expect.stringContaining('used twice on this device'),
        expect.stringContaining('needs exactly one rc attribute, has 0'),
      ]),
    );
  });
});

describe('PCI attach info strings', () => {
  // Expected strings printed by Python's json.dumps, as upstream's pci_str_to_json / mdev_str_to_json produce them.
  it('match upstream byte for byte', () => {
    expect(pciAttachInfo(pci('0000:5e:00.2'), 'physnet1')).toBe(
      '{"bus": "5e", "device": "00", "domain": "0000", "function": "2", "physical_network": "physnet1"}',
    );
    expect(pciAttachInfo(pci('0000:5E:00.1'))).toBe('{"bus": "5e", "device": "00", "domain": "0000", "function": "1"}');
    expect(mdevAttachInfo(pci('0000:3b:00.0'), 'nvidia-223', 'nvidia-223_0')).toBe(
      '{"asked_type": "nvidia-223", "bus": "3b", "device": "00", "domain": "0000", "function": "0", "vgpu_mark": "nvidia-223_0"}',
    );
    expect(pythonJsonDumps({ k: 'h\u00f6st\u007f\u{1F600}\n\u0001' })).toBe(
      '{"k": "h\\u00f6st\\u007f\\ud83d\\ude00\\n\\u0001"}',
    );
  });

  it('lay VFs out function first, then device, and stop at the end of the bus', () => {
    expect(offsetPciAddress(pci('0000:86:02.6'), 3)).toEqual(pci('0000:86:03.1'));
    expect(offsetPciAddress(pci('0000:86:1f.7'), 1)).toBeNull();
    expect(parsePciAddress('5e:00.1')).toBeNull();
    expect(parsePciAddress('0000:5e:00.8')).toBeNull();
  });
});
