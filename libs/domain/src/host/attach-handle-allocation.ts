import {
  AttachHandleAllocated,
  type AttachHandleAllocatedV1,
  AttachHandleReleased,
  type AttachHandleReleasedV1,
  DeviceDisabled,
  DeviceEnabled,
  type DeviceStatusV1,
  type HeldHandle,
  type ReleasedHandle,
} from '@cyborg/contracts';
import { DomainError } from '../domain-error';
import type { HostEvent } from '@cyborg/contracts';
import { evolveHost, type HostState } from './host';
import { decideDrainedRemovals } from './inventory.decide';
import type { AttachHandleState, DeployableState, DeviceState } from './inventory.state';
import { fenceRefusal } from './device-health';

export interface AllocateAttachHandle {
  hostname: string;
  /** Placement's resource provider of the deployable, as Nova names it. */
  rpUuid: string;
  arqUuid: string;
  /** The ARQ's bind attempt taking the handle: the agent tells a late release of an earlier bind of the same ARQ by it. */
  attempt?: number;
  /** ISO 8601, the deciding conductor's clock: an operator's program request blocks binds until its deadline. */
  now: string;
}

export interface Allocation {
  /** AttachHandleAllocated, for the host stream. */
  events: AttachHandleAllocated[];
  handle: AttachHandleState;
  deployable: DeployableState;
  device: DeviceState;
}

/**
 * Takes a free attach handle of the deployable that `rpUuid` names on this
 * host. Decided against the host stream at a known version, so appending
 * with that version makes a handle impossible to give twice.
 */
export function decideAllocateAttachHandle(command: AllocateAttachHandle, state: HostState): Allocation | DomainError {
  const { hostname, rpUuid, arqUuid } = command;
  if (!state.registered) {
    return new DomainError('not_found', 'host_not_found', `Host ${hostname} is not known: no agent has registered it.`);
  }
  if (state.down) {
    return new DomainError(
      'conflict',
      'host_down',
      `Host ${hostname} is down: its agent stopped sending heartbeats. Binds to it fail until the agent is heard again.`,
    );
  }
  const deployable = [...state.inventory.deployables.values()].find((d) => d.rpUuid === rpUuid);
  if (!deployable) {
    return new DomainError(
      'not_found',
      'deployable_not_found',
      `Deployable not found with resource provider uuid=${rpUuid} on host ${hostname}`,
    );
  }
  const device = state.inventory.devices.get(deployable.deviceUuid);
  if (!device) {
    return new DomainError(
      'not_found',
      'device_not_found',
      `Device ${deployable.deviceUuid} of deployable ${deployable.name} is not on host ${hostname}`,
    );
  }
  if (device.status !== 'enabled') {
    return new DomainError(
      'conflict',
      'device_disabled',
      `Device ${device.uuid} of deployable ${deployable.name} on host ${hostname} is disabled (${device.status}); enable it before binding to it.`,
    );
  }
  if (device.draining || deployable.draining) {
    return new DomainError(
      'conflict',
      'device_draining',
      `Deployable ${deployable.name} on host ${hostname} is draining: its device has left the host and takes no new binds.`,
    );
  }
  const fenced = fenceRefusal(device, deployable.name, hostname);
  if (fenced) return fenced;
  if (device.reshape) {
    return new DomainError(
      'conflict',
      'device_reshaping',
      `Device ${device.uuid} of deployable ${deployable.name} on host ${hostname} is being reshaped (request ${device.reshape.reshapeId}); bind again when it is done.`,
    );
  }
  if (deployable.programmingUntil !== null && deployable.programmingUntil > command.now) {
    return new DomainError(
      'conflict',
      'deployable_programming',
      `Deployable ${deployable.name} on host ${hostname} is being programmed (until ${deployable.programmingUntil} at the latest); bind again when it is done.`,
    );
  }
  const handles = [...state.inventory.attachHandles.values()].filter((h) => h.deployableUuid === deployable.uuid);
  const handle = handles.find((h) => !h.inUse && !h.draining);
  if (!handle) {
    return new DomainError(
      'conflict',
      'no_free_attach_handle',
      handles.length === 0
        ? `AttachHandle not found Matching deployable_id ${deployable.uuid}: deployable ${deployable.name} on host ${hostname} has no attach handles.`
        : `AttachHandle not found Matching deployable_id ${deployable.uuid}: all ${handles.length} attach handles of deployable ${deployable.name} on host ${hostname} are in use.`,
    );
  }
  const allocated: AttachHandleAllocatedV1 = {
    hostname,
    uuid: handle.uuid,
    deployableUuid: deployable.uuid,
    arqUuid,
    ...(command.attempt !== undefined ? { attempt: command.attempt } : {}),
  };
  return { events: [{ type: AttachHandleAllocated.type, data: { ...allocated } }], handle, deployable, device };
}

export interface ReleaseAttachHandle {
  hostname: string;
  handleUuid: string;
  arqUuid: string;
}

/**
 * Gives a handle back, only if this ARQ holds it (releasing twice appends
 * nothing), then removes whatever drained and now holds nothing.
 */
export function decideReleaseAttachHandle(command: ReleaseAttachHandle, state: HostState): HostEvent[] {
  const handle = state.inventory.attachHandles.get(command.handleUuid);
  if (!handle || !handle.inUse || handle.allocatedTo !== command.arqUuid) return [];
  const released: AttachHandleReleasedV1 = {
    hostname: command.hostname,
    uuid: handle.uuid,
    deployableUuid: handle.deployableUuid,
    arqUuid: command.arqUuid,
  };
  const releasedEvent: AttachHandleReleased = { type: AttachHandleReleased.type, data: { ...released } };
  return [releasedEvent, ...decideDrainedRemovals(command.hostname, evolveHost(state, releasedEvent))];
}

export interface SetDeviceStatus {
  hostname: string;
  deviceUuid: string;
  status: DeviceStatusV1;
}

/** Cyborg's disable (`maintaining`) and enable; setting the status a device has appends nothing. */
export function decideSetDeviceStatus(command: SetDeviceStatus, state: HostState): HostEvent[] | DomainError {
  const device = state.inventory.devices.get(command.deviceUuid);
  if (!device)
    return new DomainError('not_found', 'device_not_found', `Device not found with uuid=${command.deviceUuid}`);
  if (device.status === command.status) return [];
  const type = command.status === 'maintaining' ? DeviceDisabled.type : DeviceEnabled.type;
  return [{ type, data: { hostname: command.hostname, uuid: device.uuid } }];
}

/**
 * The attach handles held now, by which ARQ and bind attempt: a release of any other ARQ, or of
 * an earlier bind of the same ARQ, must leave them as they are.
 */
export function heldHandlesOf(state: HostState): HeldHandle[] {
  return [...state.inventory.attachHandles.values()]
    .filter((h) => h.inUse && h.allocatedTo !== null)
    .map((h) => ({
      uuid: h.uuid,
      arqUuid: h.allocatedTo as string,
      ...(h.attempt !== null ? { attempt: h.attempt } : {}),
    }))
    .sort((a, b) => a.uuid.localeCompare(b.uuid));
}

/**
 * The attach handles bound before and free now, on devices still on the host: their releases
 * were sent to the agent once, so what a prepare left on them is the agent's to clear at start.
 * A handle never bound is not named: whatever is on it, the agent did not put there.
 */
export function releasedHandlesOf(state: HostState): ReleasedHandle[] {
  const { attachHandles, deployables, devices } = state.inventory;
  const released: ReleasedHandle[] = [];
  for (const h of attachHandles.values()) {
    if (h.inUse || !h.boundBefore || h.draining) continue;
    const deployable = deployables.get(h.deployableUuid);
    const device = devices.get(h.deviceUuid);
    if (!deployable || !device) continue;
    released.push({
      uuid: h.uuid,
      type: h.type,
      info: h.info,
      deployableName: deployable.name,
      driverName: device.driverName,
    });
  }
  return released.sort((a, b) => a.uuid.localeCompare(b.uuid));
}
