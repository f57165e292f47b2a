import { parseAttachInfo } from '../attach-info';
import {
  AttachHandleError,
  DriverConfigurationError,
  type AcceleratorDriver,
  type AttachHandleTarget,
  type Discovery,
  type DiscoveryWarning,
  type DriverCallOptions,
} from '../driver';
import type { ControlPathId, DeviceType, DiscoveredDeployable, DiscoveredDevice } from '../inventory';
import { formatPciAddress, parsePciAddress, pciAttachInfo, pythonJsonDumps, type PciAddress } from '../pci';
import { deviceTypeOfClass, pciClassName } from '../pci-classes';
import { pciHealth } from '../pci-health';
import { deployableAttributes, nameSuffix } from '../placement-names';
import {
  type DeviceReshapeSpec,
  numVfsAttribute,
  type ReshapableDriver,
  type ReshapeResult,
  writeSriovNumVfs,
} from '../reshape';
import { readPciFunction, scanPciFunctions, type PciFunction, type PciScan } from '../sysfs';
import { readTopology, topologyAttributes, topologyTraits } from '../topology';
import { addressMayMatch, firstMatch, parsePciDeviceSpecs, type PciDeviceSpec, type SpecHost } from './device-spec';

export const PCI_DRIVER = 'pci';
/** Upstream's resource class for generic PCI devices. */
export const PCI_RESOURCE_CLASS = 'CUSTOM_PCI';
/** Upstream's `VENDOR_MAPS` of the PCI driver: these vendors get a `CUSTOM_PCI_<NAME>` trait. */
const VENDOR_NAMES: Record<string, string> = {
  '10de': 'nvidia',
  '102b': 'matrox',
  '8086': 'intel',
  '1bd4': 'inspur',
  '10ee': 'xilinx',
  '19e5': 'huawei',
};
/** What upstream reports for every PCI device, kept for classes none of Cyborg's types fits. */
const FALLBACK_DEVICE_TYPE: DeviceType = 'GPU';

export interface PciDriverOptions {
  hostname: string;
  sysfsRoot: string;
  /** Nova's `[pci] device_spec` JSON; empty or `[]` offers nothing. */
  deviceSpec: string;
}

/**
 * Generic PCI passthrough of any function the Nova-style whitelist names (GPUs, InfiniBand,
 * NICs, ...), read from sysfs. A function is one deployable with one PCI handle. VFs are
 * grouped under their PF: device → PF deployable (grouping, no handles) → VF deployables, so
 * a PF whose VFs are offered is not offered whole. Unlike upstream, the device type follows
 * the PCI class rather than being `GPU` for everything.
 */
export class PciPassthroughDriver implements AcceleratorDriver, ReshapableDriver {
  readonly name = PCI_DRIVER;
  readonly specs: readonly PciDeviceSpec[];

  constructor(private readonly options: PciDriverOptions) {
    const parsed = parsePciDeviceSpecs(options.deviceSpec);
    if (!parsed.ok)
      throw new DriverConfigurationError(
        this.name,
        parsed.errors.map((e) => `device spec ${e}`),
      );
    this.specs = parsed.specs;
  }

  async discover(options: DriverCallOptions = {}): Promise<Discovery> {
    options.signal?.throwIfAborted();
    const scan = await scanPciFunctions(this.options.sysfsRoot, this.name);
    options.signal?.throwIfAborted();
    const found = pciInventory(scan, this.specs, this.options.hostname);
    const byBdf = new Map(scan.functions.map((f) => [f.bdf, f]));
    await Promise.all(found.devices.map((d) => withTopologyAndHealth(d, byBdf, this.options.hostname)));
    return found;
  }

  /**
   * Sets the number of SR-IOV VFs of the device's PF (`sriov_numvfs`, 0 first, never above
   * `sriov_totalvfs`); the report that follows lists the VFs the kernel made. vGPU types and
   * MIG layouts are GPUs' and belong to the nvidia_gpu driver.
   */
  async reshape(
    device: { controlPathId: ControlPathId },
    spec: DeviceReshapeSpec,
    options: DriverCallOptions = {},
  ): Promise<ReshapeResult> {
    options.signal?.throwIfAborted();
    if (spec.numVfs === undefined) {
      return {
        ok: false,
        reasons: [
          `the pci driver changes only the number of SR-IOV VFs (num_vfs) of ${formatPciAddress(device.controlPathId.info)}; vGPU types and MIG layouts are the nvidia_gpu driver's`,
        ],
      };
    }
    return writeSriovNumVfs(this.options.sysfsRoot, device.controlPathId.info, spec.numVfs);
  }

  /** Nothing to create for a PCI handle; a function that is gone fails the bind clearly instead of at boot. */
  async prepareAttachHandle(target: AttachHandleTarget, options: DriverCallOptions = {}): Promise<void> {
    options.signal?.throwIfAborted();
    const info = parseAttachInfo(target.handle.info);
    if (target.handle.type !== 'PCI' || !info) {
      throw new AttachHandleError(
        this.name,
        `${target.handle.type} handle ${target.handle.info} is not a PCI function`,
      );
    }
    const bdf = formatPciAddress(info.address);
    const fn = await readPciFunction(this.options.sysfsRoot, bdf);
    if ('problem' in fn) {
      throw new AttachHandleError(
        this.name,
        `PCI function ${bdf} of ${target.deployableName} is not usable: ${fn.problem}`,
      );
    }
  }
}

interface Offered {
  fn: PciFunction;
  spec: PciDeviceSpec;
}

/** What the whitelist offers of the scanned host, as devices; unreadable functions it might name become warnings. */
export function pciInventory(scan: PciScan, specs: readonly PciDeviceSpec[], hostname: string): Discovery {
  const byBdf = new Map(scan.functions.map((f) => [f.bdf, f]));
  const netdevs = new Map<string, PciAddress>();
  for (const f of scan.functions) for (const n of f.netdevs) netdevs.set(n, f.address);
  const host: SpecHost = {
    isPhysicalFunction: (a) => (byBdf.get(formatPciAddress(a))?.sriovTotalVfs ?? 0) > 0,
    functionOfNetdev: (n) => netdevs.get(n) ?? null,
  };

  const warnings: DiscoveryWarning[] = [];
  for (const u of scan.unreadable) {
    const pf = u.physfn ? parsePciAddress(u.physfn) : null;
    if (!addressMayMatch(specs, u.address) && !(pf && addressMayMatch(specs, pf))) continue;
    // A broken VF leaves its PF's device unknown, not just itself.
    warnings.push(warning(pf ?? u.address, u.problem));
  }

  // Each offered function goes to its PF's group; a PF or a plain function is its own group.
  const groups = new Map<string, { pf: Offered | null; vfs: Offered[] }>();
  for (const fn of scan.functions) {
    const parent = fn.physfn ? parsePciAddress(fn.physfn) : null;
    const spec = firstMatch(specs, { address: fn.address, vendor: fn.vendor, product: fn.product, parent }, host);
    if (!spec) continue;
    const key = parent ? formatPciAddress(parent) : fn.bdf;
    const group = groups.get(key) ?? { pf: null, vfs: [] };
    if (parent) group.vfs.push({ fn, spec });
    else group.pf = { fn, spec };
    groups.set(key, group);
  }

  const devices: DiscoveredDevice[] = [];
  for (const [key, group] of [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (group.vfs.length === 0) {
      const { fn, spec } = group.pf!;
      devices.push(device(fn, spec, [functionDeployable(hostname, fn, spec)]));
      continue;
    }
    const pf = byBdf.get(key);
    if (!pf) {
      const address = parsePciAddress(key)!;
      const why = scan.unreadable.find((u) => u.bdf === key)?.problem ?? `PCI function ${key} is not in sysfs`;
      warnings.push(warning(address, `the PF of ${group.vfs.map((v) => v.fn.bdf).join(', ')} cannot be read: ${why}`));
      continue;
    }
    const pfSpec = group.pf?.spec ?? group.vfs[0].spec;
    const pfDeployable: DiscoveredDeployable = {
      ...functionDeployable(hostname, pf, pfSpec),
      numAccelerators: 0,
      attachHandles: [],
    };
    const vfs = group.vfs.map(({ fn, spec }) => ({
      ...functionDeployable(hostname, fn, spec),
      parentName: pfDeployable.name,
    }));
    devices.push(device(pf, pfSpec, [pfDeployable, ...vfs]));
  }
  return { devices, warnings };
}

function device(fn: PciFunction, spec: PciDeviceSpec, deployables: DiscoveredDeployable[]): DiscoveredDevice {
  return {
    type: spec.deviceType ?? deviceTypeOfClass(fn.classCode) ?? FALLBACK_DEVICE_TYPE,
    vendor: fn.vendor,
    // Upstream's PCI driver: the product id is the model.
    model: fn.product,
    std_board_info: pythonJsonDumps({ product_id: fn.product, controller: pciClassName(fn.classCode) }),
    vendor_board_info: 'miss_vb_info',
    controlPathId: { type: 'PCI', info: { ...fn.address } },
    driverName: PCI_DRIVER,
    deployables,
  };
}

/** Upstream's deployable of one function: `<host>_<address>`, one accelerator, one PCI handle. */
function functionDeployable(hostname: string, fn: PciFunction, spec: PciDeviceSpec): DiscoveredDeployable {
  const vendorName = VENDOR_NAMES[fn.vendor];
  const traits = [
    'OWNER_CYBORG',
    ...(vendorName ? [`CUSTOM_PCI_${nameSuffix(vendorName)}`] : []),
    `CUSTOM_PCI_PRODUCT_ID_${nameSuffix(fn.product)}`,
    ...spec.traits,
  ];
  return {
    name: `${hostname}_${fn.bdf}`,
    numAccelerators: 1,
    driverName: (vendorName ?? fn.vendor).toUpperCase(),
    attributes: deployableAttributes(spec.resourceClass ?? PCI_RESOURCE_CLASS, traits),
    attachHandles: [{ type: 'PCI', info: pciAttachInfo(fn.address, spec.physicalNetwork ?? undefined) }],
  };
}

/**
 * Adds each deployable's NUMA node and PCIe root (traits after the others, then attributes) and
 * the device's health: the AER counters and link of its control path function.
 */
async function withTopologyAndHealth(
  device: DiscoveredDevice,
  byBdf: ReadonlyMap<string, PciFunction>,
  hostname: string,
): Promise<void> {
  for (const dep of device.deployables) {
    const fn = byBdf.get(dep.name.slice(hostname.length + 1));
    if (!fn) continue;
    const topology = await readTopology(fn);
    const traits = dep.attributes.filter((a) => a.key.startsWith('trait')).map((a) => a.value);
    const rc = dep.attributes.find((a) => a.key === 'rc')!.value;
    dep.attributes = [
      ...deployableAttributes(rc, [...traits, ...topologyTraits(topology)]),
      ...topologyAttributes(topology),
      ...numVfsAttribute(fn),
    ];
  }
  const pf = byBdf.get(formatPciAddress(device.controlPathId.info));
  if (pf) device.health = await pciHealth(pf);
}

function warning(address: PciAddress, message: string): DiscoveryWarning {
  return { driver: PCI_DRIVER, controlPathId: { type: 'PCI', info: { ...address } }, message };
}
