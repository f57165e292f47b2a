import { type AcceleratorDriver, type Discovery, DiscoveryFailedError } from './driver';
import { fakeDevice } from './fake/fake.driver';
import { discoverHost } from './host-discovery';
import { controlPathKey, type DiscoveredDevice } from './inventory';
import { parsePciAddress, pciAttachInfo } from './pci';

function gpu(address: string): DiscoveredDevice {
  const pci = parsePciAddress(address)!;
  return {
    type: 'GPU',
    vendor: '10de',
    model: 'T4',
    std_board_info: null,
    vendor_board_info: null,
    controlPathId: { type: 'PCI', info: pci },
    driverName: 'scripted',
    deployables: [
      {
        name: `compute-1_${address}`,
        numAccelerators: 1,
        driverName: 'NVIDIA',
        attributes: [{ key: 'rc', value: 'PGPU' }],
        attachHandles: [{ type: 'PCI', info: pciAttachInfo(pci) }],
      },
    ],
  };
}

/** A driver that answers whatever the test scripts next. */
class ScriptedDriver implements AcceleratorDriver {
  next: () => Promise<Discovery> = async () => ({ devices: [], warnings: [] });
  constructor(readonly name: string) {}
  discover(): Promise<Discovery> {
    return this.next();
  }
}

const paths = (devices: readonly DiscoveredDevice[]) => devices.map((d) => controlPathKey(d.controlPathId));

describe('discovering a host with several drivers', () => {
  const fake = { name: 'fake', discover: async () => ({ devices: [fakeDevice('compute-1')], warnings: [] }) };

  it("merges every driver's devices into one snapshot", async () => {
    const scripted = new ScriptedDriver('scripted');
    scripted.next = async () => ({ devices: [gpu('0000:3b:00.0')], warnings: [] });
    const found = await discoverHost('compute-1', [fake, scripted]);
    expect(found.inventory.hostname).toBe('compute-1');
    expect(paths(found.inventory.devices)).toEqual(['PCI:0000:0c:00.0', 'PCI:0000:3b:00.0']);
    expect(found.warnings).toEqual([]);
  });

  it("keeps a failing driver's previous devices instead of reporting them gone", async () => {
    const scripted = new ScriptedDriver('scripted');
    scripted.next = async () => ({ devices: [gpu('0000:3b:00.0'), gpu('0000:af:00.0')], warnings: [] });
    const first = await discoverHost('compute-1', [fake, scripted]);

    scripted.next = async () => Promise.reject(new DiscoveryFailedError('scripted', ['cannot read host.yaml']));
    const second = await discoverHost('compute-1', [fake, scripted], first.devicesByDriver);
    expect(second.inventory).toEqual(first.inventory);
    expect(second.warnings).toEqual([
      { driver: 'scripted', message: expect.stringContaining('keeping the 2 devices it last reported') },
    ]);
  });

  it('keeps the previous state of a device a driver could not read, and drops one that is simply gone', async () => {
    const scripted = new ScriptedDriver('scripted');
    scripted.next = async () => ({
      devices: [gpu('0000:3b:00.0'), gpu('0000:af:00.0'), gpu('0000:d8:00.0')],
      warnings: [],
    });
    const first = await discoverHost('compute-1', [scripted]);

    const unreadable = { driver: 'scripted', controlPathId: gpu('0000:af:00.0').controlPathId, message: 'cannot read' };
    scripted.next = async () => ({ devices: [gpu('0000:3b:00.0')], warnings: [unreadable] });
    const second = await discoverHost('compute-1', [scripted], first.devicesByDriver);
    expect(paths(second.inventory.devices)).toEqual(['PCI:0000:3b:00.0', 'PCI:0000:af:00.0']);
    expect(second.warnings).toEqual([unreadable]);
  });

  it("leaves out a device that clashes with another driver's, with a warning", async () => {
    const scripted = new ScriptedDriver('scripted');
    scripted.next = async () => ({ devices: [{ ...gpu('0000:0c:00.0') }], warnings: [] });
    const found = await discoverHost('compute-1', [fake, scripted]);
    expect(paths(found.inventory.devices)).toEqual(['PCI:0000:0c:00.0']);
    expect(found.inventory.devices[0].driverName).toBe('fake');
    expect(found.devicesByDriver.get('scripted')).toEqual([]);
    expect(found.warnings).toEqual([
      expect.objectContaining({ driver: 'scripted', message: expect.stringContaining('reported twice') }),
    ]);
  });

  it('gives up when aborted rather than report half a host', async () => {
    const controller = new AbortController();
    const scripted = new ScriptedDriver('scripted');
    scripted.next = async () => {
      controller.abort(new Error('agent stopping'));
      return { devices: [], warnings: [] };
    };
    await expect(discoverHost('compute-1', [scripted], new Map(), { signal: controller.signal })).rejects.toThrow(
      'agent stopping',
    );
  });
});
