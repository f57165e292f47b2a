import type { AcceleratorDriver, Discovery } from '../driver';
import type { DiscoveredAttachHandle, DiscoveredDevice } from '../inventory';
import { pythonJsonDumps, type PciAddress } from '../pci';

/** Upstream's `FakeDriver.NUM_ACCELERATORS`. */
export const FAKE_NUM_ACCELERATORS = 16;
const FUNCTIONS_PER_PCI_DEVICE = 8;
// The same control path on every host: devices are keyed per host, so that is fine.
const FAKE_CONTROL_PATH: PciAddress = { domain: '0000', bus: '0c', device: '00', function: '0' };

/** `<host>_FakeDevice` with anything but `[A-Za-z0-9_-]` replaced, as upstream names the resource provider. */
export function fakeDeployableName(hostname: string): string {
  // Python's `.` skips newlines, so upstream's regex leaves them; so do we.
  return `${hostname}_FakeDevice`.replace(/[^A-Za-z0-9_\-\n]/gu, '_');
}

/**
 * Upstream's `fake_driver`, output for output: one FPGA with one deployable of 16 `TEST_PCI`
 * handles (which Nova ignores), resource class `FPGA`, trait `CUSTOM_FAKE_DEVICE`. Like upstream
 * it has no `program()`.
 */
export class FakeDriver implements AcceleratorDriver {
  readonly name = 'fake';

  constructor(private readonly hostname: string) {}

  async discover(): Promise<Discovery> {
    return { devices: [fakeDevice(this.hostname)], warnings: [] };
  }
}

export function fakeDevice(hostname: string): DiscoveredDevice {
  return {
    type: 'FPGA',
    vendor: '0xABCD',
    model: 'miss model info',
    std_board_info: pythonJsonDumps({ device_id: '0xabcd', class: 'Fake class' }),
    vendor_board_info: 'fake_vendor_info',
    controlPathId: { type: 'PCI', info: { ...FAKE_CONTROL_PATH } },
    driverName: 'fake',
    deployables: [
      {
        name: fakeDeployableName(hostname),
        numAccelerators: FAKE_NUM_ACCELERATORS,
        driverName: 'fake',
        attributes: [
          { key: 'traits1', value: 'CUSTOM_FAKE_DEVICE' },
          { key: 'rc', value: 'FPGA' },
        ],
        attachHandles: fakeAttachHandles(FAKE_NUM_ACCELERATORS),
      },
    ],
  };
}

/**
 * Functions 1..n of the control path's slot (function 0 is the control path itself). Upstream
 * re-serialises the control path's dict, so keys stay in its order (not sorted) and the device
 * number loses its zero padding: `{"domain": "0000", "bus": "0c", "device": "0", "function": "1"}`.
 */
export function fakeAttachHandles(n: number): DiscoveredAttachHandle[] {
  const handles: DiscoveredAttachHandle[] = [];
  for (let fn = 1; fn <= n; fn++) {
    const info = pythonJsonDumps({
      domain: FAKE_CONTROL_PATH.domain,
      bus: FAKE_CONTROL_PATH.bus,
      device: String(Math.floor(fn / FUNCTIONS_PER_PCI_DEVICE)),
      function: String(fn % FUNCTIONS_PER_PCI_DEVICE),
    });
    handles.push({ type: 'TEST_PCI', info, inUse: false });
  }
  return handles;
}
