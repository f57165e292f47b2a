import type { DeviceReshapeSpec } from '../reshape';
import type { SimulatedDeployableSpec, SimulatedDeviceSpec } from './simulated-host.schema';

/** A MIG-capable GPU has seven compute slices (A100, H100, H200). */
const MIG_SLICES = 7;
const MAX_VFS = 256;

/**
 * The device as the file describes it, with the reshapes applied so far:
 * VF entries take `numVfs`; MDEV handles take `vgpuType`; a MIG layout
 * replaces the GPU's deployables with one MIG-backed vGPU per profile.
 * Returns why not when the device cannot take the spec.
 */
export function reshapeSimulatedDevice(
  device: SimulatedDeviceSpec,
  spec: DeviceReshapeSpec,
): SimulatedDeviceSpec | string {
  let deployables = device.deployables;
  if (spec.numVfs !== undefined) {
    if (!deployables.some((d) => d.parent !== null)) {
      return `device ${device.id} has no SR-IOV VFs to set (no VF entry)`;
    }
    if (!Number.isInteger(spec.numVfs) || spec.numVfs < 0 || spec.numVfs > MAX_VFS) {
      return `device ${device.id} supports 0 to ${MAX_VFS} VFs, not ${spec.numVfs}`;
    }
    deployables = deployables.map((d) => (d.parent !== null ? { ...d, count: spec.numVfs! } : d));
  }
  if (spec.vgpuType !== undefined) {
    if (device.type !== 'GPU') return `device ${device.id} is a ${device.type}, not a GPU: it has no vGPU types`;
    if (!deployables.some((d) => d.handles?.type === 'MDEV')) {
      return `GPU ${device.id} is passed through whole: it offers no vGPU types (reshape it with a MIG layout or enable vGPU on the host)`;
    }
    const mdevType = spec.vgpuType.startsWith('nvidia-') ? spec.vgpuType : `nvidia-${spec.vgpuType}`;
    deployables = deployables.map((d) =>
      d.handles?.type === 'MDEV' ? { ...d, handles: { ...d.handles, mdevType } } : d,
    );
  }
  if (spec.migProfiles !== undefined) {
    if (device.type !== 'GPU') return `device ${device.id} is a ${device.type}, not a GPU: it has no MIG mode`;
    const slices = spec.migProfiles.reduce((sum, p) => sum + Number(/^(\d)g\./.exec(p)?.[1] ?? NaN), 0);
    if (!Number.isFinite(slices)) return `MIG profiles must be named like 1g.10gb: ${spec.migProfiles.join(', ')}`;
    if (slices > MIG_SLICES) {
      return `MIG profiles ${spec.migProfiles.join(' + ')} need ${slices} of GPU ${device.id}'s ${MIG_SLICES} slices`;
    }
    const rc = deployables[0]?.rc === 'PGPU' ? 'VGPU' : (deployables[0]?.rc ?? 'VGPU');
    deployables = spec.migProfiles.map((profile, i): SimulatedDeployableSpec => ({
      id: `mig${i}`,
      name: `${device.pci.domain}:${device.pci.bus}:${device.pci.device}.${device.pci.function}_mig${i}`,
      parent: null,
      pci: device.pci,
      count: 1,
      rc,
      traits: [`CUSTOM_MIG_${profile.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`],
      handles: { type: 'MDEV', mdevType: `nvidia-mig-${profile}`, instances: 1 },
    }));
  }
  return { ...device, deployables };
}
