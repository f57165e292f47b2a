import {
  type DeviceShape,
  DeviceReshapeApplied,
  DeviceReshapeFailed,
  DeviceReshapeRequested,
  type DeviceReshapeSpecV1,
  type HostEvent,
  type ReshapeWhenBusyV1,
} from '@cyborg/contracts';
import { DomainError } from '../domain-error';
import type { HostState } from './host';
import type { DeviceState } from './inventory.state';

export const ReshapeErrors = {
  deviceNotFound: (uuid: string) =>
    new DomainError('not_found', 'device_not_found', `Device not found with uuid=${uuid}`),
  oneChange: () =>
    new DomainError(
      'invalid',
      'invalid_reshape',
      'A reshape changes one thing: give exactly one of vgpu_type, mig_profiles or num_vfs.',
    ),
  notForType: (device: DeviceState, what: string) =>
    new DomainError(
      'invalid',
      'reshape_not_supported',
      `Device ${device.uuid} is a ${device.type}: ${what} applies to GPUs only.`,
    ),
  draining: (device: DeviceState) =>
    new DomainError(
      'conflict',
      'device_draining',
      `Device ${device.uuid} has left its host (draining); it cannot be reshaped.`,
    ),
  pending: (device: DeviceState, reshapeId: string) =>
    new DomainError(
      'conflict',
      'reshape_pending',
      `Device ${device.uuid} has a reshape in progress (request ${reshapeId}); ask again once it is applied or has failed.`,
    ),
  busy: (device: DeviceState, holders: readonly string[]) =>
    new DomainError(
      'conflict',
      'device_in_use',
      `Device ${device.uuid} cannot be reshaped while ${holders.length} ARQ(s) are bound to it (${holders.join(', ')}); unbind them, or ask with "when_busy": "wait" to apply it once they let go.`,
    ),
} as const;

export interface RequestReshape {
  hostname: string;
  deviceUuid: string;
  reshapeId: string;
  spec: DeviceReshapeSpecV1;
  whenBusy: ReshapeWhenBusyV1;
}

/** The ARQs holding a handle of any deployable of the device. */
export function holdersOfDevice(deviceUuid: string, state: HostState): string[] {
  const holders = [...state.inventory.attachHandles.values()]
    .filter((h) => h.deviceUuid === deviceUuid && h.inUse && h.allocatedTo !== null)
    .map((h) => h.allocatedTo as string);
  return [...new Set(holders)].sort();
}

/**
 * An admin's reshape: recorded on the host stream, where binds read it, so
 * no bind can start on the device until it is applied or failed. While
 * something is bound it is refused, or waits for the ARQs to let go.
 */
export function decideRequestReshape(command: RequestReshape, state: HostState): HostEvent[] | DomainError {
  const device = state.inventory.devices.get(command.deviceUuid);
  if (!device) return ReshapeErrors.deviceNotFound(command.deviceUuid);
  const { spec } = command;
  const given = [spec.vgpuType, spec.migProfiles, spec.numVfs].filter((v) => v !== undefined);
  if (given.length !== 1) return ReshapeErrors.oneChange();
  if (spec.migProfiles !== undefined && device.type !== 'GPU') return ReshapeErrors.notForType(device, 'a MIG layout');
  if (spec.vgpuType !== undefined && device.type !== 'GPU') return ReshapeErrors.notForType(device, 'a vGPU type');
  if (device.draining) return ReshapeErrors.draining(device);
  if (device.reshape) return ReshapeErrors.pending(device, device.reshape.reshapeId);
  const holders = holdersOfDevice(device.uuid, state);
  if (holders.length > 0 && command.whenBusy === 'refuse') return ReshapeErrors.busy(device, holders);
  return [
    {
      type: DeviceReshapeRequested.type,
      data: {
        hostname: command.hostname,
        uuid: device.uuid,
        reshapeId: command.reshapeId,
        spec: copySpec(spec),
        whenBusy: command.whenBusy,
        waitingFor: holders,
      },
    },
  ];
}

/** A pending reshape the agent may apply now: nothing on the device is bound. */
export function readyReshape(deviceUuid: string, state: HostState): DeviceState['reshape'] {
  const device = state.inventory.devices.get(deviceUuid);
  if (!device?.reshape || holdersOfDevice(deviceUuid, state).length > 0) return null;
  return device.reshape;
}

/** The devices of a host whose reshape waits and can now be applied. */
export function readyReshapes(state: HostState): string[] {
  return [...state.inventory.devices.values()]
    .filter((d) => readyReshape(d.uuid, state) !== null)
    .map((d) => d.uuid)
    .sort();
}

export interface RecordReshape {
  hostname: string;
  deviceUuid: string;
  reshapeId: string;
  outcome: { ok: true } | { ok: false; reasons: string[] };
}

/** How the agent's reshape ended; nothing once that request is no longer the device's pending one. */
export function decideRecordReshape(command: RecordReshape, state: HostState): HostEvent[] {
  const device = state.inventory.devices.get(command.deviceUuid);
  const pending = device?.reshape;
  if (!device || !pending || pending.reshapeId !== command.reshapeId) return [];
  const ids = {
    hostname: command.hostname,
    uuid: device.uuid,
    reshapeId: pending.reshapeId,
    spec: copySpec(pending.spec),
  };
  if (command.outcome.ok) return [{ type: DeviceReshapeApplied.type, data: ids }];
  return [{ type: DeviceReshapeFailed.type, data: { ...ids, reasons: [...command.outcome.reasons] } }];
}

/** What applied reshapes made of the host's devices, for its agent to keep (a driver may not remember). */
export function deviceShapesOf(state: HostState): DeviceShape[] {
  return [...state.inventory.devices.values()]
    .filter((d) => d.vgpuType !== null || d.numVfs !== null || d.migProfiles !== null)
    .map((d) => ({
      deviceUuid: d.uuid,
      driverName: d.driverName,
      controlPathId: { type: d.controlPathId.type, info: { ...d.controlPathId.info } },
      ...(d.numVfs !== null ? { numVfs: d.numVfs } : {}),
      ...(d.migProfiles !== null ? { migProfiles: [...d.migProfiles] } : {}),
      ...(d.vgpuType !== null ? { vgpuType: d.vgpuType } : {}),
    }))
    .sort((a, b) => a.deviceUuid.localeCompare(b.deviceUuid));
}

function copySpec(spec: DeviceReshapeSpecV1): DeviceReshapeSpecV1 {
  return {
    ...(spec.vgpuType !== undefined ? { vgpuType: spec.vgpuType } : {}),
    ...(spec.migProfiles !== undefined ? { migProfiles: [...spec.migProfiles] } : {}),
    ...(spec.numVfs !== undefined ? { numVfs: spec.numVfs } : {}),
  };
}
