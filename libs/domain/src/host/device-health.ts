import {
  ArqDeviceHealthChanged,
  type ArqDeviceHealthChangedV1,
  DeviceFenceReleased,
  DeviceHealthChanged,
  type DeviceHealthChangedV1,
  type DeviceHealthReasonV1,
  type DeviceHealthStatusV1,
  type HostEvent,
  type ReportedDevice,
} from '@cyborg/contracts';
import { DomainError } from '../domain-error';
import type { ArqState } from '../arq/arq.state';
import type { HostState } from './host';
import { controlPathKey, deviceUuid } from './inventory-ids';
import { type DeviceState, HEALTHY_DEVICE } from './inventory.state';

/** The operator's choice (HEALTH_FENCE_STICKY): whether a recovered device stays fenced until released by hand. */
export interface HealthPolicy {
  stickyFence: boolean;
}

export const DEFAULT_HEALTH_POLICY: HealthPolicy = { stickyFence: false };

export const HealthErrors = {
  unhealthy: (device: DeviceState, deployable: string, hostname: string) =>
    new DomainError(
      'conflict',
      'device_unhealthy',
      device.health.status === 'unhealthy'
        ? `Device ${device.uuid} of deployable ${deployable} on host ${hostname} is unhealthy (${describeReasons(device.health.reasons)}); it takes no new binds until it recovers.`
        : `Device ${device.uuid} of deployable ${deployable} on host ${hostname} stays fenced after being unhealthy (${describeReasons(device.fenceReasons)}); an admin releases it with POST /v2/devices/${device.uuid}/health/release.`,
    ),
  stillUnhealthy: (device: DeviceState) =>
    new DomainError(
      'conflict',
      'device_still_unhealthy',
      `Device ${device.uuid} is still unhealthy (${describeReasons(device.health.reasons)}); only a device that has recovered can be released from its fence.`,
    ),
  deviceNotFound: (uuid: string) =>
    new DomainError('not_found', 'device_not_found', `Device not found with uuid=${uuid}`),
} as const;

/** `xid: XID 79: GPU has fallen off the bus; aer_fatal: ...`, what an operator reads in a refusal. */
export function describeReasons(reasons: readonly DeviceHealthReasonV1[]): string {
  if (reasons.length === 0) return 'no reason reported';
  return reasons.map((r) => `${r.code}: ${r.message}`).join('; ');
}

/** The refusal a bind to this device gets while it is fenced; null when it may be bound. */
export function fenceRefusal(device: DeviceState, deployableName: string, hostname: string): DomainError | null {
  return device.fenced ? HealthErrors.unhealthy(device, deployableName, hostname) : null;
}

/**
 * DeviceHealthChanged for each reported device whose health differs from
 * the recorded one (status or reasons; a new reading of the same finding is
 * no change). Absent health is healthy. Unhealthy fences the device;
 * recovery lifts the fence unless the policy keeps it.
 */
export function decideHealthChanges(
  hostname: string,
  devices: readonly ReportedDevice[],
  state: HostState,
  policy: HealthPolicy,
): HostEvent[] {
  const events: HostEvent[] = [];
  const reported = devices
    .map((device) => ({ device, controlPath: controlPathKey(device.controlPathId) }))
    .sort((a, b) => (a.controlPath < b.controlPath ? -1 : a.controlPath > b.controlPath ? 1 : 0));
  for (const { device, controlPath } of reported) {
    const uuid = deviceUuid(hostname, controlPath);
    const known = state.inventory.devices.get(uuid);
    const from = known?.health ?? HEALTHY_DEVICE;
    const to = device.health ?? HEALTHY_DEVICE;
    if (from.status === to.status && sameFindings(from.reasons, to.reasons)) continue;
    const fenced = to.status === 'unhealthy' || (policy.stickyFence && (known?.fenced ?? false));
    const data: DeviceHealthChangedV1 = {
      hostname,
      uuid,
      controlPath,
      from: from.status,
      to: to.status,
      reasons: to.reasons.map(copyReason),
      fenced,
    };
    events.push({ type: DeviceHealthChanged.type, data });
  }
  return events;
}

function sameFindings(a: readonly DeviceHealthReasonV1[], b: readonly DeviceHealthReasonV1[]): boolean {
  const key = (r: DeviceHealthReasonV1) => `${r.code}\u0000${r.message}`;
  return a.length === b.length && a.every((r, i) => key(r) === key(b[i]));
}

function copyReason(reason: DeviceHealthReasonV1): DeviceHealthReasonV1 {
  return {
    code: reason.code,
    message: reason.message,
    ...(reason.evidence ? { evidence: { ...reason.evidence } } : {}),
  };
}

export interface ReleaseDeviceFence {
  hostname: string;
  deviceUuid: string;
}

/** An admin lifts a sticky fence from a device that has recovered; one not fenced appends nothing. */
export function decideReleaseFence(command: ReleaseDeviceFence, state: HostState): HostEvent[] | DomainError {
  const device = state.inventory.devices.get(command.deviceUuid);
  if (!device) return HealthErrors.deviceNotFound(command.deviceUuid);
  if (device.health.status === 'unhealthy') return HealthErrors.stillUnhealthy(device);
  if (!device.fenced) return [];
  return [{ type: DeviceFenceReleased.type, data: { hostname: command.hostname, uuid: device.uuid } }];
}

/** An ARQ that holds a handle of a device whose health changed, with what it is to be marked. */
export interface ArqHealthMark {
  arqUuid: string;
  data: ArqDeviceHealthChangedV1;
}

/** The ARQs holding handles of the devices these events change the health of (host state before them). */
export function arqHealthMarks(events: readonly HostEvent[], state: HostState): ArqHealthMark[] {
  const marks: ArqHealthMark[] = [];
  for (const event of events) {
    if (event.type !== DeviceHealthChanged.type) continue;
    const d = event.data;
    for (const handle of state.inventory.attachHandles.values()) {
      if (handle.deviceUuid !== d.uuid || !handle.inUse || handle.allocatedTo === null) continue;
      marks.push({ arqUuid: handle.allocatedTo, data: markOf(handle.allocatedTo, d, handle.uuid, d.to, d.reasons) });
    }
  }
  return marks.sort((a, b) => (a.arqUuid < b.arqUuid ? -1 : a.arqUuid > b.arqUuid ? 1 : 0));
}

function markOf(
  arqUuid: string,
  device: { hostname: string; uuid: string },
  handleUuid: string,
  health: DeviceHealthStatusV1,
  reasons: readonly DeviceHealthReasonV1[],
): ArqDeviceHealthChangedV1 {
  return {
    uuid: arqUuid,
    hostname: device.hostname,
    deviceUuid: device.uuid,
    attachHandleUuid: handleUuid,
    health,
    reasons: reasons.map(copyReason),
  };
}

/** The mark for one ARQ, only while it still holds that handle (an unbind meanwhile leaves nothing to mark). */
export function decideArqHealthMark(mark: ArqHealthMark, state: ArqState): ArqDeviceHealthChanged[] {
  const held = state.arq?.holding;
  if (!held || held.handle.uuid !== mark.data.attachHandleUuid) return [];
  return [{ type: ArqDeviceHealthChanged.type, data: { ...mark.data } }];
}

/** A bind that starts on a device that is not healthy (degraded: still schedulable) is marked at once. */
export function bindHealthMark(
  arqUuid: string,
  hostname: string,
  device: DeviceState,
  handleUuid: string,
): ArqDeviceHealthChanged[] {
  if (device.health.status === 'healthy') return [];
  const data = markOf(
    arqUuid,
    { hostname, uuid: device.uuid },
    handleUuid,
    device.health.status,
    device.health.reasons,
  );
  return [{ type: ArqDeviceHealthChanged.type, data }];
}
