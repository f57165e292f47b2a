import { join } from 'node:path';
import { readOptionalDir, readOptionalText, readSysfsText, type PciFunction } from '../sysfs';

/**
 * How an SR-IOV VF of an NVIDIA GPU (Ampere and later) becomes a vGPU:
 *
 * - `mdev`: the VF is an mdev parent (`<VF>/mdev_supported_types/<type>/`, vGPU 12 to 17 on
 *   kernels with mdev); bind creates the mdev on the VF through `<type>/create`.
 * - `vfio`: NVIDIA's vendor-specific VFIO framework (vGPU 17 / R550 and later, the only one
 *   with R580 on Linux 6.8): `<VF>/nvidia/creatable_vgpu_types` lists what the VF can become,
 *   writing a type id to `<VF>/nvidia/current_vgpu_type` makes it one (0 clears it), and the
 *   VF then goes to the guest as a plain VFIO PCI device.
 */
export type VfLayout = 'mdev' | 'vfio';

export interface VgpuTypeName {
  /** The mdev type (`nvidia-699`) or the numeric type id (`1292`). */
  type: string;
  /** `NVIDIA A100D-1-10C`, `NVIDIA H100XM-4C`. */
  name: string;
}

export async function vfLayout(vf: PciFunction): Promise<VfLayout | null> {
  if ((await readOptionalText(join(vf.path, 'nvidia', 'current_vgpu_type')).catch(() => null)) !== null) return 'vfio';
  const types = await readOptionalDir(join(vf.path, 'mdev_supported_types')).catch(() => []);
  return types.length > 0 ? 'mdev' : null;
}

/**
 * `creatable_vgpu_types` as the NVIDIA driver prints it: a header `ID    : vGPU Name`, then
 * one `%-5d : %s` line per type (the vendor-specific VFIO section of NVIDIA's Virtual GPU
 * Software User Guide, release 17 and later). A VF already given a type, or one whose GPU has
 * no room left, lists fewer types or only the header.
 */
export function parseCreatableVgpuTypes(text: string): VgpuTypeName[] {
  const types: VgpuTypeName[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+)\s*:\s*(\S.*?)\s*$/.exec(line);
    if (m) types.push({ type: m[1], name: m[2] });
  }
  return types;
}

export async function readCreatableTypes(vf: PciFunction): Promise<VgpuTypeName[]> {
  const text = await readOptionalText(join(vf.path, 'nvidia', 'creatable_vgpu_types'));
  return parseCreatableVgpuTypes(text ?? '');
}

/** The VF's `current_vgpu_type`: `0` when it is no vGPU. */
export async function readCurrentType(vf: Pick<PciFunction, 'path'>): Promise<string> {
  const text = await readSysfsText(join(vf.path, 'nvidia', 'current_vgpu_type'));
  if (!/^\d+$/.test(text)) throw new Error(`current_vgpu_type is ${JSON.stringify(text)}, not a type id`);
  return String(Number(text));
}

/**
 * The MIG profile of a MIG-backed vGPU type, from its name as NVIDIA's vGPU type tables write
 * it: `<board>-<compute slices>-<framebuffer GB>C`, with `ME` for media extensions
 * (`NVIDIA A100-1-5C` → `1g.5gb`, `NVIDIA H100XM-1-10CME` → `1g.10gb+me`). Time-sliced types
 * (`NVIDIA H100XM-10C`) have none.
 */
export function migProfileOf(typeName: string): string | null {
  const m = /-(\d)-(\d+)C(ME)?$/i.exec(typeName.trim());
  return m ? `${m[1]}g.${m[2]}gb${m[3] ? '+me' : ''}` : null;
}
