import { readFile } from 'node:fs/promises';
import { delay, untilAborted } from '../abort';
import { verifyBitstreamChecksum } from '../bitstream';
import {
  AttachHandleError,
  DiscoveryFailedError,
  type AcceleratorDriver,
  type AttachHandleTarget,
  type Bitstream,
  type Discovery,
  type DriverCallOptions,
  type ProgramResult,
} from '../driver';
import { controlPathKey, type ControlPathId, type DiscoveredDeployable } from '../inventory';
import type { DeviceReshapeSpec, DeviceShapeKept, ReshapableDriver, ReshapeResult } from '../reshape';
import { reshapeSimulatedDevice } from './simulated-reshape';
import {
  checkFaults,
  parseSimulatedHost,
  type SimulatedFaults,
  type SimulatedHostSpec,
  type SkippedDeviceEntry,
} from './simulated-host.schema';
import { discoverSimulatedHost, mergeFaults, SIMULATED_DRIVER, type SimulatedDiscovery } from './simulated-host';

export interface SimulatedDriverOptions {
  /** Prefixes every deployable name, so one file can describe many hosts. */
  hostname: string;
  /** The simulated host file (YAML), re-read on every call. */
  file: string;
}

/**
 * A host described in a YAML file instead of sysfs: GPUs (whole or vGPU), FPGAs and NICs with
 * PF → VF trees, QAT, NVMe. The file is re-read on every call, so a test or an operator can edit
 * devices and faults while the agent runs; `setFaults()` layers faults on top from code.
 */
export class SimulatedDriver implements AcceleratorDriver, ReshapableDriver {
  readonly name = SIMULATED_DRIVER;
  private runtimeFaults: SimulatedFaults = {};
  /** Reshapes applied, by device id, in order: what the host became since the file was written (the log keeps them across restarts). */
  private readonly reshapes = new Map<string, DeviceReshapeSpec[]>();
  /** Prepared mdevs: attach handle uuid → the handle it realises. */
  private readonly mdevs = new Map<string, string>();

  constructor(private readonly options: SimulatedDriverOptions) {}

  /** Replaces the faults set from code (the file's own faults stay); `setFaults({})` clears them. */
  setFaults(faults: SimulatedFaults): void {
    const errors = checkFaults(faults);
    if (errors.length > 0) throw new RangeError(`invalid simulated faults: ${errors.join('; ')}`);
    this.runtimeFaults = structuredClone(faults);
  }

  async discover(options: DriverCallOptions = {}): Promise<Discovery> {
    const { signal } = options;
    signal?.throwIfAborted();
    const { found, delayMs } = await this.load();
    if (delayMs > 0) await delay(delayMs, signal);
    return { devices: found.devices.map((d) => d.device), warnings: found.warnings };
  }

  async program(
    deployable: Pick<DiscoveredDeployable, 'name'>,
    bitstream: Bitstream,
    options: DriverCallOptions = {},
  ): Promise<ProgramResult> {
    const { signal } = options;
    signal?.throwIfAborted();
    let found: SimulatedDiscovery;
    try {
      ({ found } = await this.load());
    } catch (error) {
      return { ok: false, reason: (error as Error).message };
    }
    const owner = found.devices.find((d) => d.device.deployables.some((x) => x.name === deployable.name));
    if (!owner) return { ok: false, reason: `no deployable ${deployable.name} on this host` };
    if (owner.spec.type !== 'FPGA') {
      return {
        ok: false,
        reason: `deployable ${deployable.name} is on ${owner.spec.type} ${owner.spec.id}, which cannot be programmed`,
      };
    }
    const mismatch = await verifyBitstreamChecksum(bitstream, signal);
    if (mismatch) return { ok: false, reason: mismatch };
    if (owner.faults.program === 'fail') {
      return { ok: false, reason: `device ${owner.spec.id} refused the bitstream (simulated fault program: fail)` };
    }
    if (owner.faults.program === 'hang') return untilAborted(signal);
    return { ok: true };
  }

  /** Creates the handle's mdev (named by the handle uuid); PCI handles need nothing. */
  async prepareAttachHandle(target: AttachHandleTarget, options: DriverCallOptions = {}): Promise<void> {
    options.signal?.throwIfAborted();
    let found: SimulatedDiscovery;
    try {
      ({ found } = await this.load());
    } catch (error) {
      throw new AttachHandleError(this.name, (error as Error).message);
    }
    const deployable = found.devices.flatMap((d) => d.device.deployables).find((d) => d.name === target.deployableName);
    if (!deployable) throw new AttachHandleError(this.name, `no deployable ${target.deployableName} on this host`);
    const handle = deployable.attachHandles.find((h) => h.type === target.handle.type && h.info === target.handle.info);
    if (!handle) {
      throw new AttachHandleError(
        this.name,
        `deployable ${deployable.name} has no ${target.handle.type} handle ${target.handle.info}`,
      );
    }
    if (handle.type !== 'MDEV') return;

    const key = `${deployable.name} ${handle.info}`;
    const mine = this.mdevs.get(target.uuid);
    if (mine !== undefined && mine !== key) {
      throw new AttachHandleError(this.name, `mdev ${target.uuid} already exists for another handle`);
    }
    for (const [uuid, k] of this.mdevs) {
      if (k === key && uuid !== target.uuid) {
        throw new AttachHandleError(this.name, `handle ${handle.info} already has mdev ${uuid}`);
      }
    }
    this.mdevs.set(target.uuid, key);
  }

  async releaseAttachHandle(target: AttachHandleTarget): Promise<void> {
    this.mdevs.delete(target.uuid);
  }

  /**
   * Applies an admin's reshape to the device the control path names, on top
   * of what the file describes: the next discovery shows it. Refused, with
   * the reason, when the device cannot take it or an mdev of it exists.
   */
  async reshape(
    device: { controlPathId: ControlPathId },
    spec: DeviceReshapeSpec,
    options: DriverCallOptions = {},
  ): Promise<ReshapeResult> {
    options.signal?.throwIfAborted();
    let found: SimulatedDiscovery;
    try {
      ({ found } = await this.load());
    } catch (error) {
      return { ok: false, reasons: [(error as Error).message] };
    }
    const key = controlPathKey(device.controlPathId);
    const owner = found.devices.find((d) => controlPathKey(d.device.controlPathId) === key);
    if (!owner) return { ok: false, reasons: [`no device at ${key} on this host`] };
    const names = new Set(owner.device.deployables.map((d) => d.name));
    const busy = [...this.mdevs.values()].filter((k) => names.has(k.split(' ')[0]));
    if (busy.length > 0) return { ok: false, reasons: [`device ${owner.spec.id} has ${busy.length} mdev(s) in use`] };
    const shaped = reshapeSimulatedDevice(owner.spec, spec);
    if (typeof shaped === 'string') return { ok: false, reasons: [shaped] };
    this.reshapes.set(owner.spec.id, [...(this.reshapes.get(owner.spec.id) ?? []), structuredClone(spec)]);
    return { ok: true };
  }

  /**
   * Takes back what the log says applied reshapes made of the device (this driver keeps them
   * only in memory): the VF count, then the MIG layout, then the vGPU type, on top of the file,
   * replacing what it held. Rejects, naming why, when the file's device cannot take them.
   */
  async keepShape(device: { controlPathId: ControlPathId }, shape: DeviceShapeKept): Promise<void> {
    const { spec } = await this.loadFile();
    const key = controlPathKey(device.controlPathId);
    const owner = spec.devices.find((d) => controlPathKey({ type: 'PCI', info: d.pci }) === key);
    if (!owner) throw new Error(`no device at ${key} in ${this.options.file}`);
    const steps: DeviceReshapeSpec[] = [
      ...(shape.numVfs !== undefined ? [{ numVfs: shape.numVfs }] : []),
      ...(shape.migProfiles !== undefined ? [{ migProfiles: [...shape.migProfiles] }] : []),
      ...(shape.vgpuType !== undefined ? [{ vgpuType: shape.vgpuType }] : []),
    ];
    let shaped = owner;
    for (const step of steps) {
      const next = reshapeSimulatedDevice(shaped, step);
      if (typeof next === 'string') throw new Error(next);
      shaped = next;
    }
    this.reshapes.set(owner.id, steps);
  }

  /** An mdev of a handle the log shows free: this driver's mdevs live in memory, so only one made since start. */
  async clearReleasedAttachHandle(target: AttachHandleTarget): Promise<void> {
    this.mdevs.delete(target.uuid);
  }

  /** Uuids of the mdevs that exist now. */
  activeMdevs(): string[] {
    return [...this.mdevs.keys()].sort();
  }

  private async loadFile(): Promise<{ spec: SimulatedHostSpec; skipped: SkippedDeviceEntry[] }> {
    const { file } = this.options;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new DiscoveryFailedError(this.name, [`cannot read ${file}: ${(error as Error).message}`]);
    }
    const parsed = parseSimulatedHost(text, file);
    if (!parsed.ok) throw new DiscoveryFailedError(this.name, parsed.errors);
    return { spec: parsed.spec, skipped: parsed.skipped };
  }

  private async load(): Promise<{ found: SimulatedDiscovery; delayMs: number }> {
    const { hostname } = this.options;
    const parsed = await this.loadFile();
    const faults = mergeFaults(parsed.spec.faults, this.runtimeFaults);
    const devices = parsed.spec.devices.map((device) =>
      (this.reshapes.get(device.id) ?? []).reduce((shaped, spec) => {
        const next = reshapeSimulatedDevice(shaped, spec);
        return typeof next === 'string' ? shaped : next;
      }, device),
    );
    return {
      found: discoverSimulatedHost({ ...parsed.spec, devices }, hostname, faults, parsed.skipped),
      delayMs: faults.discoveryDelayMs ?? 0,
    };
  }
}
