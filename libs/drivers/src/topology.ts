import { realpath } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { DiscoveredAttribute } from './inventory';
import { nameSuffix } from './placement-names';
import { readOptionalText, type PciFunction } from './sysfs';

/** Where a PCI function sits: its NUMA node and the root port (or host bridge) above it. */
export interface PciTopology {
  /** `numa_node`; null when the kernel says -1 (no NUMA information) or the file is absent. */
  numaNode: number | null;
  /**
   * The root port the function hangs off (`0000:3a:00.0`), the first PCI function below the
   * host bridge in its `devices/pciDDDD:BB/...` path; the host bridge (`pci0000:00`) for a
   * function on the root bus itself. Two functions with one root share the same root complex
   * port (a PCIe switch below it), which is what peer-to-peer traffic cares about.
   */
  pcieRoot: string | null;
}

const HOST_BRIDGE = /^pci[0-9a-f]{4}:[0-9a-f]{2}$/i;
const FUNCTION = /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/i;

/** Reads `numa_node` and resolves the function's sysfs path to its root port. Nothing here throws. */
export async function readTopology(fn: Pick<PciFunction, 'path' | 'bdf'>): Promise<PciTopology> {
  const numa = await readOptionalText(join(fn.path, 'numa_node')).catch(() => null);
  const numaNode = numa !== null && /^\d+$/.test(numa) ? Number(numa) : null;
  let pcieRoot: string | null = null;
  try {
    const parts = (await realpath(fn.path)).split('/');
    const bridge = parts.findIndex((p) => HOST_BRIDGE.test(p));
    if (bridge !== -1) {
      const below = parts[bridge + 1];
      pcieRoot = below && FUNCTION.test(below) && below !== basename(fn.path) ? below.toLowerCase() : parts[bridge];
    }
  } catch {
    pcieRoot = null;
  }
  return { numaNode, pcieRoot };
}

/** `CUSTOM_NUMA_NODE_0`, `CUSTOM_PCIE_ROOT_0000_3A_00_0`: what a device profile can require. */
export function topologyTraits(t: PciTopology): string[] {
  return [
    ...(t.numaNode === null ? [] : [`CUSTOM_NUMA_NODE_${t.numaNode}`]),
    ...(t.pcieRoot === null ? [] : [`CUSTOM_PCIE_ROOT_${nameSuffix(t.pcieRoot)}`]),
  ];
}

/** The same as plain attributes (`numa_node`, `pcie_root`), which the API lists and Placement ignores. */
export function topologyAttributes(t: PciTopology): DiscoveredAttribute[] {
  return [
    ...(t.numaNode === null ? [] : [{ key: 'numa_node', value: String(t.numaNode) }]),
    ...(t.pcieRoot === null ? [] : [{ key: 'pcie_root', value: t.pcieRoot }]),
  ];
}
