import {
  DiscoveryFailedError,
  type AcceleratorDriver,
  type Bitstream,
  type Discovery,
  type DiscoveryWarning,
  type DriverCallOptions,
  type ProgramResult,
} from '../driver';
import { fpgaCardHealth } from '../fpga-health';
import { programWithTool } from '../fpga-programming';
import { combineHealth } from '../health';
import type { DiscoveredDeployable, DiscoveredDevice } from '../inventory';
import { parsePciAddress, pciAttachInfo, pythonJsonDumps, type PciAddress } from '../pci';
import { pciHealth } from '../pci-health';
import { deployableAttributes, nameSuffix } from '../placement-names';
import { errorMessage, scanPciFunctions, type PciFunction, type PciScan } from '../sysfs';
import { DEFAULT_PROGRAM_TIMEOUT_MS } from '../tool';
import { readTopology, topologyAttributes, topologyTraits } from '../topology';
import { fpgaClassFunctions, readFpgaFunction, type FpgaFunctionView } from './fpga-sysfs';

export const INTEL_FPGA_DRIVER = 'intel_fpga';
/** Upstream's `fpgaconf` path. */
export const DEFAULT_FPGACONF_PATH = '/usr/bin/fpgaconf';
const INTEL_VENDOR = '8086';
/** Upstream's `driver_name` of Intel FPGA deployables. */
const DEPLOYABLE_DRIVER_NAME = 'intel';

/** Intel PAC cards by PF product id: the family trait (upstream's `PRODUCT_MAP`) and a model name. */
const PRODUCTS: Record<string, { family: string; model: string }> = {
  '09c4': { family: 'PAC_ARRIA10', model: 'Intel PAC Arria 10 GX' },
  '0b2b': { family: 'PAC_D5005', model: 'Intel PAC D5005' },
  '0b30': { family: 'PAC_N3000', model: 'Intel PAC N3000' },
};

export interface IntelFpgaDriverOptions {
  hostname: string;
  sysfsRoot: string;
  fpgaconfPath: string;
  programTimeoutMs?: number;
}

/**
 * Intel FPGA cards from sysfs, as OPAE's intel-fpga driver or the kernel's DFL driver lays
 * them out. A card is a device whose control path is its PF. Without VFs the PF is one
 * deployable with one PCI handle; with VFs the PF deployable groups one deployable per VF
 * (`parent`/`root`), each with its VF's handle. Traits as upstream: `CUSTOM_FPGA_INTEL`,
 * the family, `CUSTOM_FPGA_REGION_INTEL_<interface id>` and
 * `CUSTOM_FPGA_FUNCTION_ID_INTEL_<afu id>`. A VF handed to vfio-pci shows no AFU to the host,
 * so it carries no function trait until it comes back. Every deployable carries its NUMA node
 * and PCIe root. Programming runs `fpgaconf` on the PF. Health: the PF's AER counters and link,
 * the FME's hwmon sensors and the FME and port error registers (`fpgaCardHealth`).
 */
export class IntelFpgaDriver implements AcceleratorDriver {
  readonly name = INTEL_FPGA_DRIVER;

  constructor(private readonly options: IntelFpgaDriverOptions) {}

  async discover(options: DriverCallOptions = {}): Promise<Discovery> {
    options.signal?.throwIfAborted();
    const { sysfsRoot, hostname } = this.options;
    const scan = await scanPciFunctions(sysfsRoot, this.name);
    let classFunctions: Set<string>;
    try {
      classFunctions = await fpgaClassFunctions(sysfsRoot);
    } catch (error) {
      throw new DiscoveryFailedError(this.name, [`cannot read the FPGA classes: ${errorMessage(error)}`]);
    }
    const found = await intelFpgaInventory(scan, classFunctions, hostname);
    options.signal?.throwIfAborted();
    return found;
  }

  async program(
    deployable: Pick<DiscoveredDeployable, 'name'>,
    bitstream: Bitstream,
    options: DriverCallOptions = {},
  ): Promise<ProgramResult> {
    const { signal } = options;
    signal?.throwIfAborted();
    let devices: DiscoveredDevice[];
    try {
      ({ devices } = await this.discover({ signal }));
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      return { ok: false, reason: errorMessage(error) };
    }
    const card = devices.find((d) => d.deployables.some((x) => x.name === deployable.name));
    if (!card) return { ok: false, reason: `no Intel FPGA deployable ${deployable.name} on this host` };
    // The FME, which does partial reconfiguration, is always on the PF: a VF's region is programmed there.
    return programWithTool(bitstream, {
      path: this.options.fpgaconfPath,
      args: [...fpgaconfTarget(card.controlPathId.info), bitstream.path],
      timeoutMs: this.options.programTimeoutMs ?? DEFAULT_PROGRAM_TIMEOUT_MS,
      signal,
    });
  }
}

/**
 * `--bus 0x5e --device 0x00 --function 0x0` (with `--segment 0xDDDD` off domain 0): OPAE's
 * `fpgaconf [-hvVn] [--segment <segment>] [-B <bus>] [-D <device>] [-F <function>] <gbs>`
 * (opae-sdk doc/src/fpga_tools/fpgaconf/fpgaconf.md, OPAE 1.1 / Intel Acceleration Stack 1.2
 * and the 2.x tools, which read numbers with base prefixes). `fpgaconf` does partial
 * reconfiguration of the green bitstream (AF) only; the FIM is flashed with `fpgasupdate`.
 */
export function fpgaconfTarget(a: PciAddress): string[] {
  const segment = a.domain === '0000' ? [] : ['--segment', `0x${a.domain}`];
  return [...segment, '--bus', `0x${a.bus}`, '--device', `0x${a.device}`, '--function', `0x${a.function}`];
}

export async function intelFpgaInventory(
  scan: PciScan,
  classFunctions: ReadonlySet<string>,
  hostname: string,
): Promise<Discovery> {
  const byBdf = new Map(scan.functions.map((f) => [f.bdf, f]));
  const warnings: DiscoveryWarning[] = [];

  // PFs of the FPGA class devices (a VF's class device stands for its PF), plus cards known by id.
  const pfs = new Set<string>();
  for (const bdf of classFunctions) {
    const fn = byBdf.get(bdf);
    if (fn?.vendor === INTEL_VENDOR) pfs.add(fn.physfn ?? fn.bdf);
  }
  for (const fn of scan.functions) {
    if (fn.vendor === INTEL_VENDOR && !fn.physfn && PRODUCTS[fn.product]) pfs.add(fn.bdf);
  }
  for (const u of scan.unreadable) {
    if (classFunctions.has(u.bdf) && (u.vendor === null || u.vendor === INTEL_VENDOR)) pfs.add(u.physfn ?? u.bdf);
  }

  const devices: DiscoveredDevice[] = [];
  for (const bdf of [...pfs].sort()) {
    const pf = byBdf.get(bdf);
    if (!pf) {
      // The card is unknown now, not gone.
      const problem = scan.unreadable.find((u) => u.bdf === bdf)?.problem ?? `PCI function ${bdf} is not in sysfs`;
      warnings.push(warning(bdf, problem));
      continue;
    }
    const built = await card(pf, byBdf, scan, hostname);
    if (typeof built === 'string') warnings.push(warning(pf.bdf, built));
    else devices.push(built);
  }
  return { devices, warnings };
}

async function card(
  pf: PciFunction,
  byBdf: ReadonlyMap<string, PciFunction>,
  scan: PciScan,
  hostname: string,
): Promise<DiscoveredDevice | string> {
  let pfView: FpgaFunctionView;
  const vfViews: { vf: PciFunction; view: FpgaFunctionView }[] = [];
  try {
    pfView = await readFpgaFunction(pf.path);
    for (const vfBdf of pf.virtfns) {
      const vf = byBdf.get(vfBdf);
      if (!vf) {
        const problem = scan.unreadable.find((u) => u.bdf === vfBdf)?.problem ?? `${vfBdf} is not in sysfs`;
        return `FPGA ${pf.bdf}: its VF cannot be read: ${problem}`;
      }
      vfViews.push({ vf, view: await readFpgaFunction(vf.path) });
    }
  } catch (error) {
    return `cannot read FPGA ${pf.bdf}: ${errorMessage(error)}`;
  }
  // Upstream ignores such a card as a stub; its regions are unknown, not gone.
  if (pfView.layout === null) {
    return `FPGA ${pf.bdf} has no fpga/ or fpga_region/ in sysfs (its FPGA driver is not bound, driver: ${pf.driver ?? 'none'})`;
  }

  const product = PRODUCTS[pf.product];
  const base = ['CUSTOM_FPGA_INTEL', ...(product ? [`CUSTOM_FPGA_INTEL_${product.family}`] : [])];
  const regions = pfView.regionIds.map((id) => `CUSTOM_FPGA_REGION_INTEL_${idSuffix(id)}`);
  const functions = (view: FpgaFunctionView) =>
    view.afuIds.map((id) => `CUSTOM_FPGA_FUNCTION_ID_INTEL_${idSuffix(id)}`);
  const topologies = new Map(
    await Promise.all([pf, ...vfViews.map((v) => v.vf)].map(async (fn) => [fn.bdf, await readTopology(fn)] as const)),
  );
  const deployable = (fn: PciFunction, traits: string[], handles: boolean): DiscoveredDeployable => {
    const topology = topologies.get(fn.bdf) ?? { numaNode: null, pcieRoot: null };
    return {
      name: `${hostname}_${fn.bdf}`,
      numAccelerators: handles ? 1 : 0,
      driverName: DEPLOYABLE_DRIVER_NAME,
      attributes: [
        ...deployableAttributes('FPGA', [...traits, ...topologyTraits(topology)]),
        ...topologyAttributes(topology),
      ],
      attachHandles: handles ? [{ type: 'PCI', info: pciAttachInfo(fn.address) }] : [],
    };
  };

  const deployables: DiscoveredDeployable[] = [];
  if (vfViews.length === 0) {
    deployables.push(deployable(pf, [...base, ...regions, ...functions(pfView)], true));
  } else {
    const parent = deployable(pf, [...base, ...regions, ...functions(pfView)], false);
    deployables.push(parent);
    for (const { vf, view } of vfViews) {
      deployables.push({ ...deployable(vf, [...base, ...regions, ...functions(view)], true), parentName: parent.name });
    }
  }
  return {
    type: 'FPGA',
    // Upstream reads these from sysfs and keeps the 0x.
    vendor: `0x${pf.vendor}`,
    model: product?.model ?? 'miss_model_info',
    std_board_info: pythonJsonDumps({ product_id: `0x${pf.product}` }),
    vendor_board_info: 'miss_vb_info',
    controlPathId: { type: 'PCI', info: { ...pf.address } },
    driverName: INTEL_FPGA_DRIVER,
    deployables,
    health: combineHealth([
      await pciHealth(pf),
      await fpgaCardHealth(pf.path),
      ...(await Promise.all(vfViews.map(({ vf }) => fpgaCardHealth(vf.path)))),
    ]),
  };
}

/** An AFU or interface id as a trait suffix: `9926ab6d-...` → `9926AB6D...`. */
function idSuffix(id: string): string {
  return nameSuffix(id.replace(/-/g, ''));
}

/** A warning about the card whose PF is at `pf`: the card's control path. */
function warning(pf: string, message: string): DiscoveryWarning {
  return { driver: INTEL_FPGA_DRIVER, controlPathId: { type: 'PCI', info: parsePciAddress(pf)! }, message };
}
