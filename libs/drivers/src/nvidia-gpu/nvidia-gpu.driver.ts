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
import type { DiscoveredAttachHandle, DiscoveredDeployable, DiscoveredDevice } from '../inventory';
import {
  formatPciAddress,
  mdevAttachInfo,
  parsePciAddress,
  pciAttachInfo,
  pythonJsonDumps,
  type PciAddress,
} from '../pci';
import { isDisplayClass, pciClassName } from '../pci-classes';
import { deployableAttributes, nameSuffix } from '../placement-names';
import {
  errorMessage,
  isMissing,
  pciDevicesDir,
  readOptionalDir,
  readPciFunction,
  readSysfsText,
  scanPciFunctions,
  type PciFunction,
} from '../sysfs';
import { DEFAULT_TOOL_TIMEOUT_MS } from '../tool';
import { readMigState, type GpuInstance, type MigState } from './nvidia-smi';
import { parseVgpuTypes, type VgpuTypeConfig } from './vgpu-types';

export const NVIDIA_GPU_DRIVER = 'nvidia_gpu';
const NVIDIA_VENDOR = '10de';
/** Upstream's `driver_name` of NVIDIA deployables. */
const DEPLOYABLE_DRIVER_NAME = 'NVIDIA';
/** MIG only exists under NVIDIA's own kernel driver; a GPU bound to vfio-pci has none to report. */
const NVIDIA_KERNEL_DRIVER = 'nvidia';
/** Prefix of the `asked_type` of a GPU instance's handle: `MIG-3g.40gb`. */
const MIG_TYPE_PREFIX = 'MIG-';
/** mdevs are named by uuid; anything else in `devices/` is not one. */
const MDEV_NAME = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface NvidiaGpuDriverOptions {
  hostname: string;
  sysfsRoot: string;
  /** See `parseVgpuTypes`; empty passes every GPU through whole. */
  vgpuTypes: string;
  /** `nvidia-smi`, for MIG; empty turns MIG discovery off. */
  nvidiaSmiPath: string;
  toolTimeoutMs?: number;
}

/**
 * NVIDIA GPUs (vendor 10de, PCI class 03xx) read from sysfs:
 *
 * - a whole GPU: one deployable, resource class `PGPU`, one PCI handle;
 * - a GPU with an enabled vGPU type: one deployable, `VGPU`, one MDEV handle per vGPU it can
 *   hold (`available_instances` plus the mdevs already made), upstream's attach info; the mdev
 *   is created at bind (named by the attach handle's uuid) and removed at unbind;
 * - a GPU in MIG mode (as `nvidia-smi` reports it): the GPU's deployable groups one deployable
 *   per GPU instance, `VGPU` with the profile as trait, one MDEV handle naming the instance.
 *
 * SR-IOV VFs of a GPU (vGPU plumbing on Ampere and later) are not offered as GPUs, which
 * upstream only does when asked (`filter_sriov_vfs`).
 */
export class NvidiaGpuDriver implements AcceleratorDriver {
  readonly name = NVIDIA_GPU_DRIVER;
  private readonly vgpuTypes: VgpuTypeConfig;
  private readonly toolTimeoutMs: number;

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
    const gpus = scan.functions.filter((f) => f.vendor === NVIDIA_VENDOR && isDisplayClass(f.classCode) && !f.physfn);

    let mig: MigState = new Map();
    let migUnknown: string | null = null;
    if (this.options.nvidiaSmiPath && gpus.some((g) => g.driver === NVIDIA_KERNEL_DRIVER)) {
      try {
        mig = await readMigState(this.options.nvidiaSmiPath, { signal, timeoutMs: this.toolTimeoutMs });
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        migUnknown = errorMessage(error);
      }
    }

    const devices: DiscoveredDevice[] = [];
    for (const gpu of gpus) {
      if (migUnknown !== null && gpu.driver === NVIDIA_KERNEL_DRIVER) {
        // Whether this GPU is partitioned is unknown: report nothing rather than a wrong tree.
        warnings.push(warning(gpu.address, `cannot tell whether GPU ${gpu.bdf} is in MIG mode: ${migUnknown}`));
        continue;
      }
      const built = await this.gpuDevice(gpu, mig.get(gpu.bdf));
      if (typeof built === 'string') warnings.push(warning(gpu.address, built));
      else devices.push(built);
    }
    const present = new Set(gpus.map((g) => g.bdf));
    for (const [bdf, type] of this.vgpuTypes.byAddress) {
      if (!present.has(bdf)) {
        warnings.push({
          driver: this.name,
          message: `vGPU type ${type} is enabled for ${bdf}, which is not an NVIDIA GPU here`,
        });
      }
    }
    signal?.throwIfAborted();
    return { devices, warnings };
  }

  /**
   * Creates the vGPU's mdev, named by the attach handle's uuid, by writing the uuid to the
   * type's `create`. An mdev of that uuid already there (a retried bind) is accepted when it
   * is of the same type on the same GPU. A PCI handle needs nothing; a GPU instance must still exist.
   */
  async prepareAttachHandle(target: AttachHandleTarget, options: DriverCallOptions = {}): Promise<void> {
    options.signal?.throwIfAborted();
    const info = parseAttachInfo(target.handle.info);
    if (!info) throw new AttachHandleError(this.name, `attach info ${target.handle.info} is not a PCI or mdev handle`);
    const bdf = formatPciAddress(info.address);
    if (target.handle.type === 'PCI') {
      const fn = await readPciFunction(this.options.sysfsRoot, bdf);
      if ('problem' in fn) throw new AttachHandleError(this.name, `GPU ${bdf} is not usable: ${fn.problem}`);
      return;
    }
    if (target.handle.type !== 'MDEV' || !info.askedType) {
      throw new AttachHandleError(
        this.name,
        `${target.handle.type} handle ${target.handle.info} is not an NVIDIA GPU's`,
      );
    }
    if (info.askedType.startsWith(MIG_TYPE_PREFIX)) return this.checkGpuInstance(bdf, info.vgpuMark, options.signal);
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

  /** Removes the handle's mdev by writing 1 to its `remove`; an mdev that is not there is already released. */
  async releaseAttachHandle(target: AttachHandleTarget): Promise<void> {
    if (target.handle.type !== 'MDEV' || !MDEV_NAME.test(target.uuid)) return;
    // A GPU instance outlives its binds: nothing was made for it.
    if (parseAttachInfo(target.handle.info)?.askedType?.startsWith(MIG_TYPE_PREFIX)) return;
    const remove = join(this.options.sysfsRoot, 'bus', 'mdev', 'devices', target.uuid, 'remove');
    try {
      await writeAttribute(remove, '1');
    } catch (error) {
      if (isMissing(error)) return;
      throw new AttachHandleError(this.name, `cannot remove mdev ${target.uuid}: ${errorMessage(error)}`);
    }
  }

  private async gpuDevice(gpu: PciFunction, instances: GpuInstance[] | undefined): Promise<DiscoveredDevice | string> {
    const name = `${this.options.hostname}_${gpu.bdf}`;
    const gpuTraits = ['OWNER_CYBORG', `CUSTOM_NVIDIA_${nameSuffix(gpu.product)}`];
    if (instances) {
      const parent: DiscoveredDeployable = {
        name,
        numAccelerators: 0,
        driverName: DEPLOYABLE_DRIVER_NAME,
        attributes: deployableAttributes('PGPU', gpuTraits),
        attachHandles: [],
      };
      const children = instances.map((gi) => gpuInstanceDeployable(name, gpu, gi));
      return device(gpu, [parent, ...children]);
    }

    const type = await this.vgpuTypeOf(gpu);
    if (type.problem) return type.problem;
    if (type.type === null) {
      return device(gpu, [
        {
          name,
          numAccelerators: 1,
          driverName: DEPLOYABLE_DRIVER_NAME,
          attributes: deployableAttributes('PGPU', gpuTraits),
          attachHandles: [{ type: 'PCI', info: pciAttachInfo(gpu.address) }],
        },
      ]);
    }

    const typeDir = join(gpu.path, 'mdev_supported_types', type.type);
    let typeName: string;
    let count: number;
    try {
      // `GRID T4-2B` or `NVIDIA A10-4Q`: upstream's trait takes the last word.
      typeName = (await readSysfsText(join(typeDir, 'name'))).split(/\s+/).at(-1) ?? type.type;
      const available = await readSysfsText(join(typeDir, 'available_instances'));
      if (!/^\d+$/.test(available)) throw new Error(`available_instances is ${JSON.stringify(available)}`);
      const made = (await readOptionalDir(join(typeDir, 'devices'))).filter((n) => MDEV_NAME.test(n));
      count = Number(available) + made.length;
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
        attributes: deployableAttributes('VGPU', [
          'OWNER_CYBORG',
          `CUSTOM_NVIDIA_${nameSuffix(gpu.product)}_${nameSuffix(typeName)}`,
        ]),
        attachHandles: handles,
      },
    ]);
  }

  /** The vGPU type this GPU gets: pinned to its address, or the first enabled type it offers. */
  private async vgpuTypeOf(gpu: PciFunction): Promise<{ type: string | null; problem?: string }> {
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

  /** The mdev of that uuid, when there is one: its type and its GPU. */
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
      // `bus/mdev/devices/<uuid>` links to `devices/.../<GPU address>/<uuid>`.
      const parent = basename(dirname(await readlink(dir)));
      return { type, parent: parsePciAddress(parent) ? parent : 'an unknown device' };
    } catch (error) {
      throw new AttachHandleError(this.name, `cannot read mdev ${uuid}: ${errorMessage(error)}`);
    }
  }

  private async checkGpuInstance(bdf: string, mark: string | null, signal: AbortSignal | undefined): Promise<void> {
    const id = mark ? /_(\d+)$/.exec(mark)?.[1] : undefined;
    if (!this.options.nvidiaSmiPath || id === undefined) {
      throw new AttachHandleError(this.name, `GPU instance ${mark} of GPU ${bdf} cannot be checked`);
    }
    let state: MigState;
    try {
      state = await readMigState(this.options.nvidiaSmiPath, { signal, timeoutMs: this.toolTimeoutMs });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw new AttachHandleError(this.name, `cannot list the GPU instances of ${bdf}: ${errorMessage(error)}`);
    }
    if (!state.get(bdf)?.some((gi) => gi.instanceId === Number(id))) {
      throw new AttachHandleError(this.name, `GPU ${bdf} has no GPU instance ${id} any more`);
    }
  }
}

function device(gpu: PciFunction, deployables: DiscoveredDeployable[]): DiscoveredDevice {
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

/** `<host>_<GPU address>_gi<instance>`: one accelerator, one MDEV handle naming the instance. */
function gpuInstanceDeployable(parentName: string, gpu: PciFunction, gi: GpuInstance): DiscoveredDeployable {
  const askedType = `${MIG_TYPE_PREFIX}${gi.profile}`;
  return {
    name: `${parentName}_gi${gi.instanceId}`,
    numAccelerators: 1,
    driverName: DEPLOYABLE_DRIVER_NAME,
    parentName,
    attributes: deployableAttributes('VGPU', [
      'OWNER_CYBORG',
      `CUSTOM_NVIDIA_${nameSuffix(gpu.product)}_MIG_${nameSuffix(gi.profile)}`,
    ]),
    attachHandles: [{ type: 'MDEV', info: mdevAttachInfo(gpu.address, askedType, `${askedType}_${gi.instanceId}`) }],
  };
}

function warning(address: PciAddress, message: string): DiscoveryWarning {
  return { driver: NVIDIA_GPU_DRIVER, controlPathId: { type: 'PCI', info: { ...address } }, message };
}

/**
 * Writes a sysfs attribute: opened write-only and never created or truncated, as the kernel
 * expects; a path that does not exist fails rather than leaving a stray file.
 */
async function writeAttribute(path: string, value: string): Promise<void> {
  const handle = await open(path, fsConstants.O_WRONLY);
  try {
    await handle.write(value);
  } finally {
    await handle.close();
  }
}
