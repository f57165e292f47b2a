import { FakeDriver, fakeDeployableName } from './fake.driver';
import type { AcceleratorDriver } from '../driver';
import type { DiscoveredAttachHandle } from '../inventory';

// Upstream serialises the control path's dict again, so keys keep its order and the device loses its padding.
const upstreamHandle = (device: number, fn: number): DiscoveredAttachHandle => ({
  type: 'TEST_PCI',
  info: `{"domain": "0000", "bus": "0c", "device": "${device}", "function": "${fn}"}`,
  inUse: false,
});

describe('the fake driver', () => {
  it('reports exactly what upstream fake_driver reports for host fake-mini', async () => {
    const { devices, warnings } = await new FakeDriver('fake-mini').discover();

    expect(warnings).toEqual([]);
    expect(devices).toEqual([
      {
        type: 'FPGA',
        vendor: '0xABCD',
        model: 'miss model info',
        std_board_info: '{"device_id": "0xabcd", "class": "Fake class"}',
        vendor_board_info: 'fake_vendor_info',
        controlPathId: { type: 'PCI', info: { domain: '0000', bus: '0c', device: '00', function: '0' } },
        driverName: 'fake',
        deployables: [
          {
            name: 'fake-mini_FakeDevice',
            numAccelerators: 16,
            driverName: 'fake',
            attributes: [
              { key: 'traits1', value: 'CUSTOM_FAKE_DEVICE' },
              { key: 'rc', value: 'FPGA' },
            ],
            attachHandles: [
              ...[1, 2, 3, 4, 5, 6, 7].map((fn) => upstreamHandle(0, fn)),
              ...[0, 1, 2, 3, 4, 5, 6, 7].map((fn) => upstreamHandle(1, fn)),
              upstreamHandle(2, 0),
            ],
          },
        ],
      },
    ]);
  });

  it('passes upstream unit test_discover: one handle per accelerator, unique BDFs on one domain and bus', async () => {
    const [device] = (await new FakeDriver('fake-mini').discover()).devices;
    const [deployable] = device!.deployables;
    expect(deployable!.numAccelerators).toBeGreaterThan(1);
    expect(deployable!.attachHandles).toHaveLength(deployable!.numAccelerators);

    const bdfs = deployable!.attachHandles.map((h) => JSON.parse(h.info) as Record<string, string>);
    expect(new Set(bdfs.map((b) => `${b['domain']}:${b['bus']}:${b['device']}.${b['function']}`)).size).toBe(
      bdfs.length,
    );
    expect(new Set(bdfs.map((b) => b['domain'])).size).toBe(1);
    expect(new Set(bdfs.map((b) => b['bus'])).size).toBe(1);
    for (const b of bdfs) {
      expect(Number(b['device'])).toBeLessThan(32);
      expect(Number(b['function'])).toBeLessThan(8);
    }
  });

  it('names the deployable after the host, replacing what a resource provider name should not hold', () => {
    expect(fakeDeployableName('compute-1')).toBe('compute-1_FakeDevice');
    expect(fakeDeployableName('compute-1.example.org')).toBe('compute-1_example_org_FakeDevice');
    expect(fakeDeployableName('h\u00f6st:1')).toBe('h_st_1_FakeDevice');
  });

  it('cannot program, like upstream (no FPGA programming driver named fake)', () => {
    const driver: AcceleratorDriver = new FakeDriver('h');
    expect(driver.program).toBeUndefined();
  });
});
