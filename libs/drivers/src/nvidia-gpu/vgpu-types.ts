import { formatPciAddress, parsePciAddress } from '../pci';

/**
 * Which mdev (vGPU) types the operator enabled, upstream's `[gpu_devices] enabled_vgpu_types`
 * and `[vgpu_<type>] device_addresses` in one comma-separated list:
 *
 * - `nvidia-223`: any GPU that offers this type gets it (the first listed type a GPU offers wins);
 * - `nvidia-223@0000:3b:00.0`: this GPU gets this type, whatever else is listed.
 *
 * A GPU that gets no type is passed through whole.
 */
export interface VgpuTypeConfig {
  /** Types for any GPU, in order of preference. */
  anyGpu: string[];
  /** Types pinned to one GPU, by PCI address. */
  byAddress: Map<string, string>;
}

export type VgpuTypeParse = { ok: true; config: VgpuTypeConfig } | { ok: false; errors: string[] };

const MDEV_TYPE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export function parseVgpuTypes(text: string): VgpuTypeParse {
  const config: VgpuTypeConfig = { anyGpu: [], byAddress: new Map() };
  const errors: string[] = [];
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const at = entry.indexOf('@');
    const type = at === -1 ? entry : entry.slice(0, at);
    if (!MDEV_TYPE.test(type)) {
      errors.push(`vGPU type ${JSON.stringify(type)} is not an mdev type name like nvidia-223`);
      continue;
    }
    if (at === -1) {
      if (!config.anyGpu.includes(type)) config.anyGpu.push(type);
      continue;
    }
    const address = parsePciAddress(entry.slice(at + 1));
    if (!address) {
      errors.push(`${JSON.stringify(entry)}: expected a PCI address like 0000:3b:00.0 after @`);
      continue;
    }
    const bdf = formatPciAddress(address);
    const other = config.byAddress.get(bdf);
    // As upstream: one GPU, one vGPU type.
    if (other !== undefined && other !== type) errors.push(`GPU ${bdf} is given two vGPU types, ${other} and ${type}`);
    else config.byAddress.set(bdf, type);
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, config };
}
