import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AcceleratorDriver, DriverCallOptions } from './driver';
import type { ControlPathId } from './inventory';
import { formatPciAddress, type PciAddress } from './pci';
import { errorMessage, pciDevicesDir, type PciFunction, readOptionalText } from './sysfs';

/**
 * Reshaping a device: changing how it is carved up (its vGPU type, its MIG
 * layout, its number of SR-IOV VFs) at an admin's request. The conductor
 * asks only while nothing on the device is bound; the agent reports the new
 * inventory after. Kept apart from `driver.ts` so drivers opt in.
 */
export interface DeviceReshapeSpec {
  /** The GPU's vGPU type, or each of its VFs' (SR-IOV vGPU): an mdev type (`nvidia-558`) or NVIDIA type id (`558`). */
  vgpuType?: string;
  /** MIG GPU instances by profile (`1g.10gb`, `3g.40gb`), in order. */
  migProfiles?: string[];
  /** SR-IOV VFs of the PF. */
  numVfs?: number;
}

/**
 * The last applied reshape of each kind, as the log keeps them. Applied again in this order
 * they give the device back: a MIG layout, which replaces the VFs, forgets the VF count and
 * vGPU type applied before it, so a vGPU type kept with one came after it.
 */
export interface DeviceShapeKept {
  numVfs?: number;
  migProfiles?: string[];
  vgpuType?: string;
}

/** A refusal carries what an operator can act on. */
export type ReshapeResult = { ok: true } | { ok: false; reasons: string[] };

export interface ReshapableDriver {
  /** Applies the spec to the device its control path names; idempotent (applying what is there succeeds). */
  reshape(
    device: { controlPathId: ControlPathId },
    spec: DeviceReshapeSpec,
    options?: DriverCallOptions,
  ): Promise<ReshapeResult>;
  /**
   * Takes back, at the agent's start, what the log says applied reshapes made of the device, where
   * the driver keeps it only in memory (a GPU's vGPU type, a simulated host's every reshape);
   * touches nothing on the host. Replaces what the driver held for the device.
   */
  keepShape?(device: { controlPathId: ControlPathId }, shape: DeviceShapeKept): Promise<void>;
}

export function canReshape(driver: AcceleratorDriver): driver is AcceleratorDriver & ReshapableDriver {
  return typeof (driver as Partial<ReshapableDriver>).reshape === 'function';
}

/**
 * Sets a PF's number of VFs through `sriov_numvfs` (the kernel's
 * Documentation/PCI/pci-iov-howto.rst): the value must not exceed
 * `sriov_totalvfs`, and changing from one non-zero count to another needs
 * 0 first, which the kernel refuses with EBUSY otherwise.
 */
export async function writeSriovNumVfs(sysfsRoot: string, pf: PciAddress, numVfs: number): Promise<ReshapeResult> {
  const dir = join(pciDevicesDir(sysfsRoot), formatPciAddress(pf));
  const total = await readOptionalText(join(dir, 'sriov_totalvfs'));
  if (total === null)
    return { ok: false, reasons: [`${formatPciAddress(pf)} has no SR-IOV capability (no sriov_totalvfs)`] };
  if (!Number.isInteger(numVfs) || numVfs < 0 || numVfs > Number(total)) {
    return { ok: false, reasons: [`${formatPciAddress(pf)} supports 0 to ${total} VFs, not ${numVfs}`] };
  }
  const current = Number((await readOptionalText(join(dir, 'sriov_numvfs'))) ?? '0');
  if (current === numVfs) return { ok: true };
  try {
    if (current !== 0) await writeFile(join(dir, 'sriov_numvfs'), '0');
    if (numVfs !== 0) await writeFile(join(dir, 'sriov_numvfs'), String(numVfs));
  } catch (error) {
    return { ok: false, reasons: [`writing sriov_numvfs of ${formatPciAddress(pf)}: ${errorMessage(error)}`] };
  }
  return { ok: true };
}

/**
 * Makes an SR-IOV VF of an NVIDIA GPU a vGPU of this type in NVIDIA's
 * vendor-specific VFIO framework (R550 and later): the id must be listed in
 * the VF's `nvidia/creatable_vgpu_types`, and is written to
 * `nvidia/current_vgpu_type` (0 clears it). Writing the type it has is a no-op.
 */
export async function writeNvidiaVgpuType(sysfsRoot: string, vf: PciAddress, typeId: string): Promise<ReshapeResult> {
  const dir = join(pciDevicesDir(sysfsRoot), formatPciAddress(vf), 'nvidia');
  const bdf = formatPciAddress(vf);
  const id = typeId.replace(/^nvidia-/, '');
  if (!/^\d{1,6}$/.test(id)) return { ok: false, reasons: [`${typeId} is not an NVIDIA vGPU type id (e.g. 558)`] };
  const current = await readOptionalText(join(dir, 'current_vgpu_type'));
  if (current === null)
    return { ok: false, reasons: [`${bdf} has no nvidia/current_vgpu_type (not an NVIDIA vGPU VF)`] };
  if (current.trim() === id) return { ok: true };
  if (id !== '0') {
    const creatable = (await readFile(join(dir, 'creatable_vgpu_types'), 'utf8').catch(() => '')).split('\n');
    // Lines are `<id> : <name>` after a header line.
    if (!creatable.some((line) => line.split(':')[0]?.trim() === id)) {
      return {
        ok: false,
        reasons: [`vGPU type ${id} is not creatable on ${bdf} now (see nvidia/creatable_vgpu_types)`],
      };
    }
  }
  try {
    await writeFile(join(dir, 'current_vgpu_type'), id);
  } catch (error) {
    return { ok: false, reasons: [`writing nvidia/current_vgpu_type of ${bdf}: ${errorMessage(error)}`] };
  }
  return { ok: true };
}

/** An SR-IOV PF's VF count as the kernel has it (`sriov_numvfs`, attribute `num_vfs`), which a reshape sets. */
export function numVfsAttribute(
  fn: Pick<PciFunction, 'sriovTotalVfs' | 'sriovNumVfs'>,
): { key: string; value: string }[] {
  return (fn.sriovTotalVfs ?? 0) > 0 ? [{ key: 'num_vfs', value: String(fn.sriovNumVfs ?? 0) }] : [];
}
