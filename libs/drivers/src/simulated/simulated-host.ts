import type { DiscoveryWarning } from '../driver';
import {
  checkInventory,
  type DiscoveredAttachHandle,
  type DiscoveredDeployable,
  type DiscoveredDevice,
} from '../inventory';
import {
  formatPciAddress,
  mdevAttachInfo,
  offsetPciAddress,
  pciAttachInfo,
  pythonJsonDumps,
  type PciAddress,
} from '../pci';
import type {
  SimulatedDeployableSpec,
  SimulatedDeviceFaults,
  SimulatedDeviceSpec,
  SimulatedFaults,
  SimulatedHostSpec,
  SkippedDeviceEntry,
} from './simulated-host.schema';
import { simulatedHealth } from './simulated-health';

export const SIMULATED_DRIVER = 'simulated';

/** A device as discovered, with the entry it came from (for faults and programming). */
export interface SimulatedDevice {
  spec: SimulatedDeviceSpec;
  faults: SimulatedDeviceFaults;
  device: DiscoveredDevice;
}

export interface SimulatedDiscovery {
  devices: SimulatedDevice[];
  warnings: DiscoveryWarning[];
}

/** Runtime faults (`setFaults`) win over the file's, field by field. */
export function mergeFaults(file: SimulatedFaults, runtime: SimulatedFaults): SimulatedFaults {
  const devices: Record<string, SimulatedDeviceFaults> = { ...file.devices };
  for (const [id, f] of Object.entries(runtime.devices ?? {})) devices[id] = { ...devices[id], ...f };
  const merged: SimulatedFaults = { devices };
  const delay = runtime.discoveryDelayMs ?? file.discoveryDelayMs;
  if (delay !== undefined) merged.discoveryDelayMs = delay;
  return merged;
}

/**
 * What a host described by `spec` shows now, faults applied. A device that cannot be built is
 * left out with a warning naming its control path; a vanished one (`present: false`) is simply gone.
 */
export function discoverSimulatedHost(
  spec: SimulatedHostSpec,
  hostname: string,
  faults: SimulatedFaults,
  skipped: readonly SkippedDeviceEntry[] = [],
): SimulatedDiscovery {
  // The problems already name the entry (`devices[4] (qat0) / pci: ...`).
  const warnings: DiscoveryWarning[] = skipped.map((s) =>
    warning(s.pci, `device entry left out: ${s.problems.join('; ')}`),
  );
  const known = new Set([...spec.devices.map((d) => d.id), ...skipped.flatMap((s) => (s.id ? [s.id] : []))]);
  for (const id of Object.keys(faults.devices ?? {})) {
    if (!known.has(id)) warnings.push(warning(null, `faults name device ${id}, which the file does not describe`));
  }

  const built: SimulatedDevice[] = [];
  for (const entry of spec.devices) {
    const f = faults.devices?.[entry.id] ?? {};
    if (f.present === false) continue;
    if (f.discover === 'fail') {
      warnings.push(warning(entry.pci, `device ${entry.id} could not be read (simulated fault discover: fail)`));
      continue;
    }
    if (f.vfs !== undefined && !entry.deployables.some((d) => d.parent !== null)) {
      warnings.push(warning(entry.pci, `fault vfs ignored: device ${entry.id} has no VF entry`));
    }
    const result = buildDevice(entry, hostname, f);
    if (typeof result === 'string') warnings.push(warning(entry.pci, `device ${entry.id} left out: ${result}`));
    else built.push({ spec: entry, faults: f, device: result });
  }

  // Clashes between devices (names, handles): keep the first, leave the other out with a warning.
  const problems = checkInventory(built.map((b) => b.device));
  const bad = new Set(problems.map((p) => p.deviceIndex));
  for (const p of problems) {
    const b = built[p.deviceIndex];
    if (b) warnings.push(warning(b.spec.pci, `device ${b.spec.id} left out: ${p.message}`));
  }
  return { devices: built.filter((_, i) => !bad.has(i)), warnings };
}

function warning(pci: PciAddress | null, message: string): DiscoveryWarning {
  return pci
    ? { driver: SIMULATED_DRIVER, controlPathId: { type: 'PCI', info: pci }, message }
    : { driver: SIMULATED_DRIVER, message };
}

/** The device's tree, or why it cannot be built. */
function buildDevice(
  spec: SimulatedDeviceSpec,
  hostname: string,
  faults: SimulatedDeviceFaults,
): DiscoveredDevice | string {
  const namesById = new Map<string, string>();
  const deployables: DiscoveredDeployable[] = [];
  // Parents first, so a VF entry can name its PF's deployable whatever the file's order.
  const ordered = [
    ...spec.deployables.filter((d) => d.parent === null),
    ...spec.deployables.filter((d) => d.parent !== null),
  ];
  for (const entry of ordered) {
    const parentName = entry.parent === null ? undefined : namesById.get(entry.parent);
    const count = entry.parent !== null && faults.vfs !== undefined ? faults.vfs : entry.count;
    for (let i = 0; i < count; i++) {
      const address = offsetPciAddress(entry.pci, i);
      if (!address) {
        return `deployable ${entry.id}: VF ${i + 1} of ${count} would lie past the last device of bus ${entry.pci.bus}`;
      }
      const name = `${hostname}_${entry.name ?? formatPciAddress(address)}`;
      if (entry.parent === null) namesById.set(entry.id, name);
      deployables.push(buildDeployable(entry, spec.driverName, name, address, parentName));
    }
  }
  const device: DiscoveredDevice = {
    type: spec.type,
    vendor: spec.vendor,
    model: spec.model,
    std_board_info: pythonJsonDumps({ product_id: spec.product, controller: spec.controller }),
    vendor_board_info: spec.vendorBoardInfo,
    controlPathId: { type: 'PCI', info: { ...spec.pci } },
    driverName: SIMULATED_DRIVER,
    deployables,
  };
  if (faults.health && faults.health.length > 0) device.health = simulatedHealth(faults.health, spec.pci);
  return device;
}

function buildDeployable(
  entry: SimulatedDeployableSpec,
  driverName: string,
  name: string,
  address: PciAddress,
  parentName: string | undefined,
): DiscoveredDeployable {
  const attachHandles = buildHandles(entry, address);
  const deployable: DiscoveredDeployable = {
    name,
    numAccelerators: attachHandles.length,
    driverName,
    // Upstream's real drivers: `rc` first, then `trait0`, `trait1`, ...
    attributes: [{ key: 'rc', value: entry.rc }, ...entry.traits.map((value, i) => ({ key: `trait${i}`, value }))],
    attachHandles,
  };
  if (parentName !== undefined) deployable.parentName = parentName;
  return deployable;
}

function buildHandles(entry: SimulatedDeployableSpec, address: PciAddress): DiscoveredAttachHandle[] {
  const h = entry.handles;
  if (h === null) return [];
  if (h.type === 'MDEV') {
    // One handle per vGPU the type allows, marked `<type>_<n>` from 0, as upstream's NVIDIA driver.
    return Array.from({ length: h.instances }, (_, n) => ({
      type: 'MDEV' as const,
      info: mdevAttachInfo(address, h.mdevType, `${h.mdevType}_${n}`),
      inUse: false as const,
    }));
  }
  return [{ type: h.type, info: pciAttachInfo(address, h.physicalNetwork ?? undefined), inUse: false }];
}
