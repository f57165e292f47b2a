import { createHash } from 'node:crypto';
import type { DeviceHealth } from './health';
import { formatPciAddress, type PciAddress } from './pci';

/** Upstream's device types; its `devices.type` enum refuses anything else. */
export const DEVICE_TYPES = ['GPU', 'FPGA', 'AICHIP', 'QAT', 'NIC', 'SSD'] as const;
export type DeviceType = (typeof DEVICE_TYPES)[number];

/** `TEST_PCI` is the fake driver's: Nova deliberately attaches nothing for it. */
export const ATTACH_HANDLE_TYPES = ['PCI', 'MDEV', 'TEST_PCI'] as const;
export type AttachHandleType = (typeof ATTACH_HANDLE_TYPES)[number];

/** A device's management interface, usually its PF. The device's identity on its host. */
export interface ControlPathId {
  type: 'PCI';
  info: PciAddress;
}

/** `rc` = resource class; any key starting with `trait` = a trait (upstream's convention). */
export interface DiscoveredAttribute {
  key: string;
  value: string;
}

export interface DiscoveredAttachHandle {
  type: AttachHandleType;
  /** Upstream's `attach_info`: a JSON string, compared byte for byte as the handle's identity. */
  info: string;
  /** Drivers never report a handle in use: allocation is the conductor's record, not the host's. */
  inUse?: false;
}

/** The schedulable unit: one Placement resource provider, named by `name`. */
export interface DiscoveredDeployable {
  /** Unique across all hosts (it names the resource provider): drivers prefix the hostname. */
  name: string;
  numAccelerators: number;
  /** Upstream's `driver_name` as the API shows it (`fake`, `NVIDIA`, `intel`, ...). */
  driverName: string;
  /** The PF deployable of a VF: device → PF deployable → VF deployables. */
  parentName?: string;
  attributes: DiscoveredAttribute[];
  attachHandles: DiscoveredAttachHandle[];
}

export interface DiscoveredDevice {
  type: DeviceType;
  /** PCI vendor id as hex text; upstream drivers disagree on a `0x` prefix, so it is kept as reported. */
  vendor: string;
  model: string;
  /** A JSON string, as upstream stores and returns it. */
  std_board_info: string | null;
  vendor_board_info: string | null;
  controlPathId: ControlPathId;
  /** The `AcceleratorDriver` that reported the device: programming and mdev work go back to it. */
  driverName: string;
  deployables: DiscoveredDeployable[];
  /** What the driver sees of the device's health; absent when the driver does not tell. */
  health?: DeviceHealth;
}

/** A full snapshot of one host, never a delta. */
export interface HostInventory {
  hostname: string;
  devices: DiscoveredDevice[];
}

/** The device's identity key: its control path, as text. */
export function controlPathKey(cpid: ControlPathId): string {
  return `${cpid.type}:${formatPciAddress(cpid.info)}`;
}

/**
 * The same inventory with every list in identity order (device by control path, deployable by
 * name, attribute by key, handle by attach info) and `inUse` spelled out. Two discoveries of
 * an unchanged host give equal canonical forms whatever order the drivers listed things in.
 */
export function canonicalInventory(inventory: HostInventory): HostInventory {
  const devices = inventory.devices.map((d): DiscoveredDevice => ({
    type: d.type,
    vendor: d.vendor,
    model: d.model,
    std_board_info: d.std_board_info,
    vendor_board_info: d.vendor_board_info,
    controlPathId: { type: d.controlPathId.type, info: { ...d.controlPathId.info } },
    driverName: d.driverName,
    deployables: sortBy(
      d.deployables.map((dep) => canonicalDeployable(dep)),
      (dep) => dep.name,
    ),
  }));
  return { hostname: inventory.hostname, devices: sortBy(devices, (d) => controlPathKey(d.controlPathId)) };
}

function canonicalDeployable(dep: DiscoveredDeployable): DiscoveredDeployable {
  const out: DiscoveredDeployable = {
    name: dep.name,
    numAccelerators: dep.numAccelerators,
    driverName: dep.driverName,
    attributes: sortBy(
      dep.attributes.map((a) => ({ key: a.key, value: a.value })),
      (a) => a.key,
    ),
    attachHandles: sortBy(
      dep.attachHandles.map((h): DiscoveredAttachHandle => ({ type: h.type, info: h.info, inUse: false })),
      (h) => h.info,
    ),
  };
  if (dep.parentName !== undefined) out.parentName = dep.parentName;
  return out;
}

/** sha256 (hex) of the canonical inventory as JSON with sorted keys: equal hashes, unchanged host. */
export function inventoryHash(inventory: HostInventory): string {
  return createHash('sha256')
    .update(canonicalJson(canonicalInventory(inventory)))
    .digest('hex');
}

/** JSON with object keys sorted at every depth and `undefined` members left out. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v: unknown = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}

/** Stable order by identity key; the full canonical JSON breaks ties so duplicates cannot reorder. */
function sortBy<T>(items: T[], key: (item: T) => string): T[] {
  const keyed = items.map((item) => ({ item, key: key(item), tie: canonicalJson(item) }));
  keyed.sort((a, b) => compare(a.key, b.key) || compare(a.tie, b.tie));
  return keyed.map((k) => k.item);
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export interface InventoryProblem {
  /** Index of the device at fault in the list checked; the first of two clashing devices is kept. */
  deviceIndex: number;
  message: string;
}

/**
 * What would make a report ambiguous or break the conductor's diff: clashing identities
 * (control paths, deployable names, attach infos), dangling or cyclic parents, accelerators
 * without a resource class (upstream's conductor raises IndexError on those).
 */
export function checkInventory(devices: readonly DiscoveredDevice[]): InventoryProblem[] {
  const problems: InventoryProblem[] = [];
  const controlPaths = new Map<string, number>();
  const deployableNames = new Map<string, number>();
  const handles = new Map<string, string>();

  devices.forEach((device, deviceIndex) => {
    const found: string[] = [];
    const cpKey = controlPathKey(device.controlPathId);
    const seenAt = controlPaths.get(cpKey);
    if (seenAt !== undefined) found.push(`device ${cpKey} is reported twice (also device #${seenAt})`);

    const local = new Map<string, DiscoveredDeployable>();
    const localHandles = new Map<string, string>();
    for (const dep of device.deployables) {
      const other = deployableNames.get(dep.name);
      if (other !== undefined) found.push(`deployable name ${dep.name} is also used on device #${other}`);
      if (local.has(dep.name)) found.push(`deployable name ${dep.name} is used twice on this device`);
      local.set(dep.name, dep);
      if (!Number.isInteger(dep.numAccelerators) || dep.numAccelerators < 0) {
        found.push(`deployable ${dep.name}: numAccelerators must be a whole number >= 0, got ${dep.numAccelerators}`);
      }
      const rcs = dep.attributes.filter((a) => a.key === 'rc');
      if (dep.numAccelerators > 0 && rcs.length !== 1) {
        found.push(`deployable ${dep.name}: needs exactly one rc attribute, has ${rcs.length}`);
      }
      for (const h of dep.attachHandles) {
        const hKey = `${h.type} ${h.info}`;
        const owner = handles.get(hKey) ?? localHandles.get(hKey);
        if (owner !== undefined) found.push(`attach handle ${hKey} of ${dep.name} is also reported by ${owner}`);
        else localHandles.set(hKey, dep.name);
      }
    }
    for (const dep of device.deployables) {
      if (dep.parentName === undefined) continue;
      if (!local.has(dep.parentName)) {
        found.push(`deployable ${dep.name}: parent ${dep.parentName} is not on the same device`);
      } else if (hasCycle(dep, local)) found.push(`deployable ${dep.name}: its parents form a cycle`);
    }

    if (found.length > 0) {
      for (const message of found) problems.push({ deviceIndex, message });
      return;
    }
    // Only a device without problems claims its identities, so dropping one never condemns a later one.
    controlPaths.set(cpKey, deviceIndex);
    for (const dep of device.deployables) deployableNames.set(dep.name, deviceIndex);
    for (const [k, v] of localHandles) handles.set(k, v);
  });
  return problems;
}

function hasCycle(start: DiscoveredDeployable, byName: ReadonlyMap<string, DiscoveredDeployable>): boolean {
  const seen = new Set<string>([start.name]);
  for (let p = start.parentName; p !== undefined; p = byName.get(p)?.parentName) {
    if (seen.has(p)) return true;
    seen.add(p);
  }
  return false;
}
