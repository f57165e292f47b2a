import { constants as fsConstants } from 'node:fs';
import { open, readlink, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
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
import { combineHealth, type DeviceHealth } from '../health';
import type { ControlPathId, DiscoveredAttachHandle, DiscoveredDeployable, DiscoveredDevice } from '../inventory';
import {
  formatPciAddress,
  mdevAttachInfo,
  parsePciAddress,
  pciAttachInfo,
  pythonJsonDumps,
  type PciAddress,
} from '../pci';
import { isDisplayClass, pciClassName } from '../pci-classes';
import { pciHealth } from '../pci-health';
import { deployableAttributes, nameSuffix } from '../placement-names';
import {
  type DeviceReshapeSpec,
  type DeviceShapeKept,
  numVfsAttribute,
  type ReshapableDriver,
  type ReshapeResult,
  writeNvidiaVgpuType,
  writeSriovNumVfs,
} from '../reshape';
import {
  errorMessage,
  isMissing,
  pciDevicesDir,
  readOptionalDir,
  readPciFunction,
  readSysfsText,
  scanPciFunctions,
  type PciFunction,
  type PciScan,
} from '../sysfs';
import { DEFAULT_TOOL_TIMEOUT_MS } from '../tool';
import { readTopology, topologyAttributes, topologyTraits, type PciTopology } from '../topology';
import { readNvidiaSmiHealth, type NvidiaSmiHealth } from './nvidia-smi';
import { parseVgpuTypes, type VgpuTypeConfig } from './vgpu-types';
import {
  migProfileOf,
  readCreatableTypes,
  readCurrentType,
  vfLayout,
  type VfLayout,
  type VgpuTypeName,
} from './vgpu-vf';
import { readXidLog, xidSlot } from './xid';

export const NVIDIA_GPU_DRIVER = 'nvidia_gpu';
const NVIDIA_VENDOR = '10de';
/** Upstream's `driver_name` of NVIDIA deployables. */
const DEPLOYABLE_DRIVER_NAME = 'NVIDIA';
/** nvidia-smi reports only GPUs on NVIDIA's own kernel driver; one on vfio-pci has nothing to tell it. */
const NVIDIA_KERNEL_DRIVER = 'nvidia';
/** mdevs are named by uuid; anything else in `devices/` is not one. */
const MDEV_NAME = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface NvidiaGpuDriverOptions {
  hostname: string;
  sysfsRoot: string;
  /** See `parseVgpuTypes`; empty passes every GPU through whole. */
  vgpuTypes: string;
  /** `nvidia-smi`, read for health (`-q -x`); empty turns that off. */
  nvidiaSmiPath: string;
  /** A kernel log file read for XID events; empty turns that off. */
  xidLogPath?: string;
  toolTimeoutMs?: number;
}

/** A VF's vGPU as discovery decided it: which type, whether the VF can take one now. */
interface VfVgpu {
  layout: VfLayout;
  type: string;
  typeName: string;
  /** 1 when the VF holds this type or can be made one now, 0 when the GPU has no room left. */
  available: number;
}

/**
 * NVIDIA GPUs (vendor 10de, PCI class 03xx) read from sysfs. Each GPU is one device, its PF
 * the control path:
 *
 * - SR-IOV vGPU (Ampere and later): the vGPU types are on the GPU's VFs. The PF deployable
 *   groups one deployable per VF that gets an enabled type, one accelerator and one handle
 *   each: an MDEV handle when the VF is an mdev parent (bind creates the mdev on the VF), a
 *   PCI handle naming the VF with NVIDIA's vendor-specific VFIO framework (bind writes the type
 *   id to the VF's `current_vgpu_type`, unbind writes 0). MIG-backed types (`A100D-1-10C`)
 *   are such types too, with the MIG profile as a trait: a GPU instance reaches a VM no other way.
 * - pre-Ampere vGPU: one deployable, `VGPU`, one MDEV handle per vGPU the PF's enabled type
 *   can hold (`available_instances` plus the mdevs made); the mdev is created at bind, named by
 *   the attach handle's uuid, and removed at unbind.
 * - otherwise the whole GPU: one deployable, `PGPU`, one PCI handle.
 *
 * Every deployable carries its NUMA node and PCIe root (attributes and traits). Each device's
 * health comes from its AER counters and link in sysfs, `nvidia-smi -q -x` (ECC, row remapping,
 * retired pages, recovery action, lost GPUs) and, when configured, XIDs in the kernel log.
 */
export class NvidiaGpuDriver implements AcceleratorDriver, ReshapableDriver {
  readonly name = NVIDIA_GPU_DRIVER;
  private readonly vgpuTypes: VgpuTypeConfig;
  private readonly toolTimeoutMs: number;
  /** Type names seen per GPU and type id: a full VF lists none, but its deployable keeps its trait. */
  private readonly typeNames = new Map<string, string>();
  /** The last vGPU each VF was offered with, so a VF whose GPU is full stays, with no accelerator free. */
  private readonly lastVfVgpu = new Map<string, VfVgpu>();
  /** vGPU type ids an admin's reshape gave a GPU's VFs, by GPU address: offered before AGENT_NVIDIA_VGPU_TYPES. */
  private readonly reshapedTypes = new Map<string, string>();

  constructor(private readonly options: NvidiaGpuDriverOptions) {
    const parsed = parseVgpuTypes(options.vgpuTypes);
    if (!parsed.ok) throw new DriverConfigurationError(this.name, parsed.errors);
    this.vgpuTypes = parsed.config;
    this.toolTimeoutMs = options.toolTimeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS;
  }

  async discover(options: DriverCallOptions = {}): Promise<Discovery> {
    const { signal } = options;
    signal?.throwIfAborted();
    const scan = await scanPciFunctions(this.options.sysfsRoot, this.name);
    const warnings: DiscoveryWarning[] = [];
    for (const u of scan.unreadable) {
      if (u.physfn === null && (u.vendor === null || u.vendor === NVIDIA_VENDOR))
        warnings.push(warning(u.address, u.problem));
    }
    const byBdf = new Map(scan.functions.map((f) => [f.bdf, f]));
    const gpus = scan.functions.filter((f) => f.vendor === NVIDIA_VENDOR && isDisplayClass(f.classCode) && !f.physfn);

    const health = await this.nvidiaHealth(gpus, signal);
    const devices: DiscoveredDevice[] = [];
    for (const gpu of gpus) {
      const built = await this.gpuDevice(gpu, byBdf, scan);
      if (typeof built === 'string') {
        warnings.push(warning(gpu.address, built));
        continue;
      }
      built.health = combineHealth([await pciHealth(gpu, { dynamicLinkSpeed: true }), health(gpu)]);
      devices.push(built);
    }
    const present = new Set(gpus.flatMap((g) => [g.bdf, ...g.virtfns]));
    for (const [bdf, type] of this.vgpuTypes.byAddress) {
      if (!present.has(bdf)) {
        warnings.push({
          driver: this.name,
          message: `vGPU type ${type} is enabled for ${bdf}, which is not an NVIDIA GPU or one of its VFs here`,
        });
      }
    }
    signal?.throwIfAborted();
    return { devices, warnings };
  }

  /**
   * Makes the handle usable by a guest:
   * - an MDEV handle: creates the mdev, named by the attach handle's uuid, by writing the uuid to
   *   the type's `create` (on the PF before Ampere, on the VF after). An mdev of that uuid
   *   already there (a retried bind) is accepted when it is of the same type on the same parent.
   * - a PCI handle of a VF in the vendor-specific VFIO layout: writes the VF's vGPU type id to
   *   `nvidia/current_vgpu_type`; a VF that already is that type is left as it is, one that is
   *   another type is refused.
   * - any other PCI handle: checks the function is still there.
   */
  async prepareAttachHandle(target: AttachHandleTarget, options: DriverCallOptions = {}): Promise<void> {
    options.signal?.throwIfAborted();
    const info = parseAttachInfo(target.handle.info);
    if (!info) throw new AttachHandleError(this.name, `attach info ${target.handle.info} is not a PCI or mdev handle`);
    const bdf = formatPciAddress(info.address);
    if (target.handle.type === 'PCI') {
      const fn = await readPciFunction(this.options.sysfsRoot, bdf);
      if ('problem' in fn) throw new AttachHandleError(this.name, `GPU ${bdf} is not usable: ${fn.problem}`);
      if (fn.physfn && (await vfLayout(fn)) === 'vfio') return this.assignVgpuType(fn);
      return;
    }
    if (target.handle.type !== 'MDEV' || !info.askedType) {
      throw new AttachHandleError(
        this.name,
        `${target.handle.type} handle ${target.handle.info} is not an NVIDIA GPU's`,
      );
    }
    if (!MDEV_NAME.test(target.uuid)) throw new AttachHandleError(this.name, `mdev name ${target.uuid} is not a uuid`);

    const existing = await this.mdevOf(target.uuid);
    if (existing) {
      if (existing.type === info.askedType && existing.parent === bdf) return;
      throw new AttachHandleError(
        this.name,
        `mdev ${target.uuid} already exists as ${existing.type} on ${existing.parent}, not ${info.askedType} on ${bdf}`,
      );
    }
    const create = join(pciDevicesDir(this.options.sysfsRoot), bdf, 'mdev_supported_types', info.askedType, 'create');
    try {
      await writeAttribute(create, target.uuid);
    } catch (error) {
      throw new AttachHandleError(
        this.name,
        `cannot create mdev ${target.uuid} of type ${info.askedType} on GPU ${bdf}: ${errorMessage(error)}`,
      );
    }
  }

  /**
   * Undoes `prepareAttachHandle`: removes the handle's mdev by writing 1 to its `remove` (an
   * mdev that is not there is already released), or clears a vendor-VFIO VF's vGPU type by
   * writing 0 (a VF already at 0 is left alone). Whether the handle is still this ARQ's is the
   * agent's check: the driver undoes what it is asked to.
   */
  async releaseAttachHandle(target: AttachHandleTarget): Promise<void> {
    if (target.handle.type === 'PCI') {
      const info = parseAttachInfo(target.handle.info);
      if (!info) return;
      const fn = await readPciFunction(this.options.sysfsRoot, formatPciAddress(info.address));
      if ('problem' in fn || !fn.physfn || (await vfLayout(fn)) !== 'vfio') return;
      try {
        if ((await readCurrentType(fn)) === '0') return;
        await writeAttribute(join(fn.path, 'nvidia', 'current_vgpu_type'), '0');
      } catch (error) {
        throw new AttachHandleError(this.name, `cannot clear the vGPU type of VF ${fn.bdf}: ${errorMessage(error)}`);
      }
      return;
    }
    if (target.handle.type !== 'MDEV' || !MDEV_NAME.test(target.uuid)) return;
    const remove = join(this.options.sysfsRoot, 'bus', 'mdev', 'devices', target.uuid, 'remove');
    try {
      await writeAttribute(remove, '1');
    } catch (error) {
      if (isMissing(error)) return;
      throw new AttachHandleError(this.name, `cannot remove mdev ${target.uuid}: ${errorMessage(error)}`);
    }
  }

  /**
   * Clears, at the agent's start, what a prepare of a handle the log shows free left behind:
   * - an MDEV handle: the mdev named by the handle's uuid, when it is of the handle's type on
   *   the handle's parent (the uuid is the conductor's, so no operator's mdev bears it);
   * - a vendor-VFIO VF: its vGPU type, when it is one this driver enables for the VF (the
   *   reshaped or configured type); a VF the operator set to another type is left as it is.
   */
  async clearReleasedAttachHandle(target: AttachHandleTarget): Promise<void> {
    const info = parseAttachInfo(target.handle.info);
    if (!info) return;
    const bdf = formatPciAddress(info.address);
    if (target.handle.type === 'MDEV') {
      if (!info.askedType || !MDEV_NAME.test(target.uuid)) return;
      const existing = await this.mdevOf(target.uuid);
      if (!existing || existing.type !== info.askedType || existing.parent !== bdf) return;
      return this.releaseAttachHandle(target);
    }
    if (target.handle.type !== 'PCI') return;
    const vf = await readPciFunction(this.options.sysfsRoot, bdf);
    if ('problem' in vf || !vf.physfn || (await vfLayout(vf)) !== 'vfio') return;
    const current = await readCurrentType(vf);
    if (current === '0' || !this.enablesType(vf.physfn, vf.bdf, current)) return;
    return this.releaseAttachHandle(target);
  }

  /** Whether this driver offers the VF as that vGPU type: the one a reshape or its setting pins, else any enabled. */
  private enablesType(gpuBdf: string, vfBdf: string, type: string): boolean {
    const pinned =
      this.reshapedTypes.get(gpuBdf) ?? this.vgpuTypes.byAddress.get(vfBdf) ?? this.vgpuTypes.byAddress.get(gpuBdf);
    return pinned !== undefined ? type === pinned : this.vgpuTypes.anyGpu.includes(type);
  }

  /**
   * An admin's reshape of a GPU:
   * - `numVfs`: the GPU's SR-IOV VFs through `sriov_numvfs` (as `sriov-manage -e` does), 0 first,
   *   never above `sriov_totalvfs`.
   * - `vgpuType`: in NVIDIA's vendor-specific VFIO layout, every VF of the GPU becomes that type
   *   (`nvidia/current_vgpu_type`, only a type every VF lists in `creatable_vgpu_types`), and the
   *   VFs are offered as it from then on; the log keeps it across agent restarts (`keepShape`).
   * - a MIG layout is refused: GPU instances are made with `nvidia-smi mig -cgi`, which this
   *   agent does not run.
   */
  async reshape(
    device: { controlPathId: ControlPathId },
    spec: DeviceReshapeSpec,
    options: DriverCallOptions = {},
  ): Promise<ReshapeResult> {
    options.signal?.throwIfAborted();
    const bdf = formatPciAddress(device.controlPathId.info);
    if (spec.numVfs !== undefined)
      return writeSriovNumVfs(this.options.sysfsRoot, device.controlPathId.info, spec.numVfs);
    if (spec.vgpuType !== undefined) return this.reshapeVgpuType(bdf, spec.vgpuType);
    return {
      ok: false,
      reasons: [
        `MIG layouts are not applied on real GPUs: GPU instances are made with nvidia-smi mig -cgi, which this agent does not run; create them on the host, then reshape GPU ${bdf} to a MIG-backed vGPU type`,
      ],
    };
  }

  /** The GPU's VFs are offered and bound as the vGPU type its last reshape gave them, as before a restart. */
  /** A VF count is kept by the host itself (`sriov_numvfs`), and MIG layouts are never applied here. */
  async keepShape(device: { controlPathId: ControlPathId }, shape: DeviceShapeKept): Promise<void> {
    if (shape.vgpuType === undefined) return;
    const id = shape.vgpuType.replace(/^nvidia-/, '');
    if (!/^\d{1,6}$/.test(id)) throw new Error(`${shape.vgpuType} is not an NVIDIA vGPU type id (e.g. 558)`);
    this.reshapedTypes.set(formatPciAddress(device.controlPathId.info), id);
  }

  private async reshapeVgpuType(bdf: string, vgpuType: string): Promise<ReshapeResult> {
    const gpu = await readPciFunction(this.options.sysfsRoot, bdf);
    if ('problem' in gpu) return { ok: false, reasons: [`GPU ${bdf} is not usable: ${gpu.problem}`] };
    const id = vgpuType.replace(/^nvidia-/, '');
    const vfs: PciFunction[] = [];
    for (const vfBdf of gpu.virtfns) {
      const vf = await readPciFunction(this.options.sysfsRoot, vfBdf);
      if ('problem' in vf) return { ok: false, reasons: [`VF ${vfBdf} of GPU ${bdf} is not usable: ${vf.problem}`] };
      if ((await vfLayout(vf)) === 'vfio') vfs.push(vf);
    }
    if (vfs.length === 0) {
      return {
        ok: false,
        reasons: [
          `GPU ${bdf} has no VFs in NVIDIA's vendor-specific VFIO layout (nvidia/current_vgpu_type); the types of mdev vGPUs are chosen with AGENT_NVIDIA_VGPU_TYPES`,
        ],
      };
    }
    // Every VF must take the type before any is changed, so a refusal leaves the GPU as it was.
    for (const vf of vfs) {
      const current = await readCurrentType(vf);
      if (current === id) continue;
      if (!(await readCreatableTypes(vf)).some((t) => t.type === id)) {
        return {
          ok: false,
          reasons: [
            `vGPU type ${id} is not creatable on VF ${vf.bdf} of GPU ${bdf} now (see nvidia/creatable_vgpu_types)`,
          ],
        };
      }
    }
    for (const vf of vfs) {
      const current = await readCurrentType(vf);
      if (current === id) continue;
      if (current !== '0') {
        const cleared = await writeNvidiaVgpuType(this.options.sysfsRoot, vf.address, '0');
        if (!cleared.ok) return cleared;
      }
      const written = await writeNvidiaVgpuType(this.options.sysfsRoot, vf.address, id);
      if (!written.ok) return written;
    }
    this.reshapedTypes.set(bdf, id);
    return { ok: true };
  }

  /** Writes the VF's vGPU type id to `current_vgpu_type` unless it already has it; reads it back. */
  private async assignVgpuType(vf: PciFunction): Promise<void> {
    const pf = await readPciFunction(this.options.sysfsRoot, vf.physfn!);
    if ('problem' in pf) throw new AttachHandleError(this.name, `the PF of VF ${vf.bdf} is not usable: ${pf.problem}`);
    const chosen = await this.vfVgpu(pf, vf, 'vfio').catch((error: unknown) => errorMessage(error));
    if (chosen === null || typeof chosen === 'string') {
      throw new AttachHandleError(this.name, `VF ${vf.bdf} has no enabled vGPU type${chosen ? `: ${chosen}` : ''}`);
    }
    const file = join(vf.path, 'nvidia', 'current_vgpu_type');
    try {
      const current = await readCurrentType(vf);
      if (current === chosen.type) return;
      if (current !== '0') {
        throw new AttachHandleError(this.name, `VF ${vf.bdf} already is vGPU type ${current}, not ${chosen.type}`);
      }
      if (chosen.available === 0) {
        throw new AttachHandleError(
          this.name,
          `GPU ${pf.bdf} has no room for another ${chosen.typeName} on VF ${vf.bdf}`,
        );
      }
      await writeAttribute(file, chosen.type);
      const now = await readCurrentType(vf);
      if (now !== chosen.type) throw new Error(`current_vgpu_type reads ${now} after writing ${chosen.type}`);
    } catch (error) {
      if (error instanceof AttachHandleError) throw error;
      throw new AttachHandleError(
        this.name,
        `cannot make VF ${vf.bdf} vGPU type ${chosen.type} (${chosen.typeName}): ${errorMessage(error)}`,
      );
    }
  }

  private async gpuDevice(
    gpu: PciFunction,
    byBdf: ReadonlyMap<string, PciFunction>,
    scan: PciScan,
  ): Promise<DiscoveredDevice | string> {
    const name = `${this.options.hostname}_${gpu.bdf}`;
    const gpuTraits = ['OWNER_CYBORG', `CUSTOM_NVIDIA_${nameSuffix(gpu.product)}`];
    const topology = await readTopology(gpu);

    // SR-IOV vGPU: the types live on the VFs.
    const vfs: { vf: PciFunction; layout: VfLayout }[] = [];
    for (const bdf of gpu.virtfns) {
      const vf = byBdf.get(bdf);
      if (!vf) {
        const problem = scan.unreadable.find((u) => u.bdf === bdf)?.problem ?? `${bdf} is not in sysfs`;
        return `GPU ${gpu.bdf}: its VF cannot be read: ${problem}`;
      }
      const layout = await vfLayout(vf);
      if (layout) vfs.push({ vf, layout });
    }
    const children: DiscoveredDeployable[] = [];
    for (const { vf, layout } of vfs) {
      let vgpu: VfVgpu | string | null;
      try {
        vgpu = await this.vfVgpu(gpu, vf, layout);
      } catch (error) {
        return `cannot read the vGPU types of VF ${vf.bdf} of GPU ${gpu.bdf}: ${errorMessage(error)}`;
      }
      if (typeof vgpu === 'string') return vgpu;
      if (vgpu) children.push(await this.vfDeployable(name, gpu, vf, vgpu));
    }
    if (children.length > 0) {
      const parent: DiscoveredDeployable = {
        name,
        numAccelerators: 0,
        driverName: DEPLOYABLE_DRIVER_NAME,
        attributes: withTopology('VGPU', gpuTraits, topology),
        attachHandles: [],
      };
      return device(gpu, [parent, ...children]);
    }
    if (vfs.length > 0 && this.vgpuTypes.byAddress.has(gpu.bdf)) {
      return `vGPU type ${this.vgpuTypes.byAddress.get(gpu.bdf)} is enabled for GPU ${gpu.bdf}, which none of its VFs offers`;
    }

    const type = await this.pfVgpuTypeOf(gpu);
    if (type.problem) return type.problem;
    if (type.type === null) {
      return device(gpu, [
        {
          name,
          numAccelerators: 1,
          driverName: DEPLOYABLE_DRIVER_NAME,
          attributes: withTopology('PGPU', gpuTraits, topology),
          attachHandles: [{ type: 'PCI', info: pciAttachInfo(gpu.address) }],
        },
      ]);
    }

    const typeDir = join(gpu.path, 'mdev_supported_types', type.type);
    let typeName: string;
    let count: number;
    try {
      typeName = await mdevTypeName(typeDir, type.type);
      count = await mdevCapacity(typeDir);
    } catch (error) {
      return `cannot read vGPU type ${type.type} of GPU ${gpu.bdf}: ${errorMessage(error)}`;
    }
    const handles: DiscoveredAttachHandle[] = [];
    for (let n = 0; n < count; n++) {
      handles.push({ type: 'MDEV', info: mdevAttachInfo(gpu.address, type.type, `${type.type}_${n}`) });
    }
    return device(gpu, [
      {
        name,
        numAccelerators: count,
        driverName: DEPLOYABLE_DRIVER_NAME,
        attributes: withTopology(
          'VGPU',
          ['OWNER_CYBORG', `CUSTOM_NVIDIA_${nameSuffix(gpu.product)}_${nameSuffix(typeName)}`],
          topology,
        ),
        attachHandles: handles,
      },
    ]);
  }

  /**
   * The vGPU a VF gets: the type pinned to the VF, else the one pinned to its GPU, else the
   * first enabled type the VF offers. A vendor-VFIO VF that already is a vGPU keeps its type
   * (when enabled). Null: the VF is not offered. A string: the GPU is unknown, for that reason.
   */
  private async vfVgpu(gpu: PciFunction, vf: PciFunction, layout: VfLayout): Promise<VfVgpu | string | null> {
    const pinned =
      this.reshapedTypes.get(gpu.bdf) ?? this.vgpuTypes.byAddress.get(vf.bdf) ?? this.vgpuTypes.byAddress.get(gpu.bdf);
    if (pinned === undefined && this.vgpuTypes.anyGpu.length === 0) return null;
    const enabled = (t: string) => this.enablesType(gpu.bdf, vf.bdf, t);

    if (layout === 'mdev') {
      const offered = await readOptionalDir(join(vf.path, 'mdev_supported_types'));
      const type = pinned ?? this.vgpuTypes.anyGpu.find((t) => offered.includes(t));
      if (type === undefined) return null;
      if (!offered.includes(type)) {
        return `vGPU type ${type} is enabled for VF ${vf.bdf}, which offers ${offered.join(', ') || 'no vGPU types'}`;
      }
      const typeDir = join(vf.path, 'mdev_supported_types', type);
      const typeName = await mdevTypeName(typeDir, type);
      // A VF holds one vGPU at most.
      return { layout, type, typeName, available: Math.min(1, await mdevCapacity(typeDir)) };
    }

    const creatable = await readCreatableTypes(vf);
    for (const t of creatable) this.typeNames.set(`${gpu.bdf} ${t.type}`, t.name);
    const current = await readCurrentType(vf);
    const nameOf = (type: string) => this.typeNames.get(`${gpu.bdf} ${type}`) ?? `vGPU type ${type}`;
    let chosen: VfVgpu | null = null;
    if (current !== '0') {
      chosen = enabled(current) ? { layout, type: current, typeName: nameOf(current), available: 1 } : null;
    } else {
      const ids = creatable.map((t: VgpuTypeName) => t.type);
      const type =
        pinned !== undefined
          ? ids.includes(pinned)
            ? pinned
            : undefined
          : this.vgpuTypes.anyGpu.find((t) => ids.includes(t));
      if (type !== undefined) chosen = { layout, type, typeName: nameOf(type), available: 1 };
      else {
        // The GPU is full (the list shows only its header): the VF stays with nothing free.
        const last = this.lastVfVgpu.get(vf.bdf);
        chosen = last && enabled(last.type) ? { ...last, available: 0 } : null;
      }
    }
    if (chosen) this.lastVfVgpu.set(vf.bdf, chosen);
    return chosen;
  }

  private async vfDeployable(
    parentName: string,
    gpu: PciFunction,
    vf: PciFunction,
    vgpu: VfVgpu,
  ): Promise<DiscoveredDeployable> {
    // `NVIDIA A100D-1-10C`: the last word names the type in traits, as upstream does for mdev types.
    const shortName = vgpu.typeName.split(/\s+/).at(-1) ?? vgpu.type;
    const mig = migProfileOf(shortName);
    const traits = [
      'OWNER_CYBORG',
      `CUSTOM_NVIDIA_${nameSuffix(gpu.product)}_${nameSuffix(shortName)}`,
      ...(mig ? [`CUSTOM_NVIDIA_MIG_${nameSuffix(mig)}`] : []),
    ];
    const handle: DiscoveredAttachHandle =
      vgpu.layout === 'mdev'
        ? { type: 'MDEV', info: mdevAttachInfo(vf.address, vgpu.type, `${vgpu.type}_0`) }
        : { type: 'PCI', info: pciAttachInfo(vf.address) };
    return {
      name: `${this.options.hostname}_${vf.bdf}`,
      numAccelerators: vgpu.available,
      driverName: DEPLOYABLE_DRIVER_NAME,
      parentName,
      attributes: [
        ...withTopology('VGPU', traits, await readTopology(vf)),
        { key: 'vgpu_type', value: vgpu.type },
        ...(mig ? [{ key: 'mig_profile', value: mig }] : []),
      ],
      attachHandles: [handle],
    };
  }

  /** The pre-Ampere vGPU type a PF gets: pinned to its address, or the first enabled type it offers. */
  private async pfVgpuTypeOf(gpu: PciFunction): Promise<{ type: string | null; problem?: string }> {
    const pinned = this.vgpuTypes.byAddress.get(gpu.bdf);
    if (pinned === undefined && this.vgpuTypes.anyGpu.length === 0) return { type: null };
    let offered: string[];
    try {
      offered = await readOptionalDir(join(gpu.path, 'mdev_supported_types'));
    } catch (error) {
      return { type: null, problem: `cannot read the vGPU types of GPU ${gpu.bdf}: ${errorMessage(error)}` };
    }
    if (pinned !== undefined) {
      if (offered.includes(pinned)) return { type: pinned };
      return {
        type: null,
        problem: `vGPU type ${pinned} is enabled for GPU ${gpu.bdf}, which offers ${offered.join(', ') || 'no vGPU types'}`,
      };
    }
    return { type: this.vgpuTypes.anyGpu.find((t) => offered.includes(t)) ?? null };
  }

  /** What nvidia-smi and the kernel log say, per GPU; nvidia-smi failing makes the GPUs it drives degraded. */
  private async nvidiaHealth(
    gpus: PciFunction[],
    signal: AbortSignal | undefined,
  ): Promise<(gpu: PciFunction) => DeviceHealth> {
    let smi: NvidiaSmiHealth | null = null;
    let smiProblem: string | null = null;
    if (this.options.nvidiaSmiPath && gpus.some((g) => g.driver === NVIDIA_KERNEL_DRIVER)) {
      try {
        smi = await readNvidiaSmiHealth(this.options.nvidiaSmiPath, { signal, timeoutMs: this.toolTimeoutMs });
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        smiProblem = errorMessage(error);
      }
    }
    const xids = this.options.xidLogPath ? await readXidLog(this.options.xidLogPath) : new Map<string, DeviceHealth>();
    return (gpu) => {
      const findings: DeviceHealth[] = [];
      const xid = xids.get(xidSlot(gpu.bdf));
      if (xid) findings.push(xid);
      if (gpu.driver !== NVIDIA_KERNEL_DRIVER) return combineHealth(findings);
      if (smiProblem !== null) {
        findings.push({
          status: 'degraded',
          reasons: [
            {
              code: 'nvidia_smi_failed',
              message: `nvidia-smi cannot report on GPU ${gpu.bdf}: ${smiProblem}`,
              evidence: { nvidia_smi: this.options.nvidiaSmiPath },
            },
          ],
        });
      } else if (smi) {
        const lost = smi.lost.get(gpu.bdf);
        const reported = smi.gpus.get(gpu.bdf);
        if (lost !== undefined) {
          findings.push({
            status: 'unhealthy',
            reasons: [{ code: 'fallen_off_bus', message: `nvidia-smi: ${lost}`, evidence: { nvidia_smi: lost } }],
          });
        } else if (reported) findings.push(reported);
      }
      return combineHealth(findings);
    };
  }

  /** The mdev of that uuid, when there is one: its type and its parent function. */
  private async mdevOf(uuid: string): Promise<{ type: string; parent: string } | null> {
    const dir = join(this.options.sysfsRoot, 'bus', 'mdev', 'devices', uuid);
    try {
      await stat(dir);
    } catch (error) {
      if (isMissing(error)) return null;
      throw new AttachHandleError(this.name, `cannot read mdev ${uuid}: ${errorMessage(error)}`);
    }
    try {
      const type = basename(await readlink(join(dir, 'mdev_type')));
      // `bus/mdev/devices/<uuid>` links to `devices/.../<parent address>/<uuid>`.
      const parent = basename(dirname(await readlink(dir)));
      return { type, parent: parsePciAddress(parent) ? parent : 'an unknown device' };
    } catch (error) {
      throw new AttachHandleError(this.name, `cannot read mdev ${uuid}: ${errorMessage(error)}`);
    }
  }
}

/** `GRID T4-2B` or `NVIDIA A10-4Q`: upstream's trait takes the last word. */
async function mdevTypeName(typeDir: string, type: string): Promise<string> {
  return (await readSysfsText(join(typeDir, 'name'))).split(/\s+/).at(-1) ?? type;
}

/** `available_instances` plus the mdevs already made of the type. */
async function mdevCapacity(typeDir: string): Promise<number> {
  const available = await readSysfsText(join(typeDir, 'available_instances'));
  if (!/^\d+$/.test(available)) throw new Error(`available_instances is ${JSON.stringify(available)}`);
  const made = (await readOptionalDir(join(typeDir, 'devices'))).filter((n) => MDEV_NAME.test(n));
  return Number(available) + made.length;
}

function withTopology(rc: string, traits: string[], topology: PciTopology) {
  return [...deployableAttributes(rc, [...traits, ...topologyTraits(topology)]), ...topologyAttributes(topology)];
}

function device(gpu: PciFunction, deployables: DiscoveredDeployable[]): DiscoveredDevice {
  deployables[0].attributes.push(...numVfsAttribute(gpu));
  return {
    type: 'GPU',
    vendor: gpu.vendor,
    model: gpu.product,
    std_board_info: pythonJsonDumps({ product_id: gpu.product, controller: pciClassName(gpu.classCode) }),
    vendor_board_info: pythonJsonDumps({ vendor_info: 'gpu_vb_info' }),
    controlPathId: { type: 'PCI', info: { ...gpu.address } },
    driverName: NVIDIA_GPU_DRIVER,
    deployables,
  };
}

function warning(address: PciAddress, message: string): DiscoveryWarning {
  return { driver: NVIDIA_GPU_DRIVER, controlPathId: { type: 'PCI', info: { ...address } }, message };
}

/**
 * Writes a sysfs attribute: opened write-only and truncated (as a shell's `echo >` does), never created, as the kernel
 * expects; a path that does not exist fails rather than leaving a stray file.
 */
async function writeAttribute(path: string, value: string): Promise<void> {
  const handle = await open(path, fsConstants.O_WRONLY | fsConstants.O_TRUNC);
  try {
    await handle.write(value);
  } finally {
    await handle.close();
  }
}
