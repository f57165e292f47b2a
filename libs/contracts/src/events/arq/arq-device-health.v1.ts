import type { Event } from '../event';
import type { DeviceHealthReasonV1, DeviceHealthStatusV1 } from '../inventory/device-health.v1';

/**
 * Stream `arq-<uuid>`: the device the ARQ holds a handle of changed health
 * (or was not healthy when the bind started), so an operator sees which
 * instances a failing device affects. Binding is not undone by it.
 */
export const ArqDeviceHealthChanged = { type: 'ArqDeviceHealthChanged', schemaVersion: 1 } as const;

export type ArqDeviceHealthChangedV1 = {
  uuid: string;
  hostname: string;
  deviceUuid: string;
  /** The handle the ARQ holds on that device. */
  attachHandleUuid: string;
  health: DeviceHealthStatusV1;
  reasons: DeviceHealthReasonV1[];
};

export type ArqDeviceHealthChanged = Event<typeof ArqDeviceHealthChanged.type, ArqDeviceHealthChangedV1>;
