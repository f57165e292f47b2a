import type { Event } from '../event';

/**
 * Stream `host-<hostname>`: a device's health as its driver reports it (like
 * a Kubernetes DRA device taint). An unhealthy device is fenced: it takes no
 * new binds and Placement reserves its whole inventory.
 */
export const DeviceHealthChanged = { type: 'DeviceHealthChanged', schemaVersion: 1 } as const;
/** An admin released a device that stays fenced after recovering (HEALTH_FENCE_STICKY). */
export const DeviceFenceReleased = { type: 'DeviceFenceReleased', schemaVersion: 1 } as const;

export type DeviceHealthStatusV1 = 'healthy' | 'degraded' | 'unhealthy';

export type DeviceHealthReasonV1 = {
  /** Machine-readable: `xid`, `ecc_uncorrectable`, `aer_fatal`, `link_down`, `temperature`, ... */
  code: string;
  message: string;
  /** What the driver read when it saw it (counters, sysfs paths, thresholds). */
  evidence?: Record<string, string | number | boolean>;
};

export type DeviceHealthChangedV1 = {
  hostname: string;
  uuid: string;
  controlPath: string;
  from: DeviceHealthStatusV1;
  to: DeviceHealthStatusV1;
  /** Empty when healthy. */
  reasons: DeviceHealthReasonV1[];
  /**
   * Whether the device is fenced after this change: always while unhealthy;
   * after recovery only when the fence is sticky (decided by the setting then).
   */
  fenced: boolean;
};

export type DeviceFenceReleasedV1 = {
  hostname: string;
  uuid: string;
};

export type DeviceHealthChanged = Event<typeof DeviceHealthChanged.type, DeviceHealthChangedV1>;
export type DeviceFenceReleased = Event<typeof DeviceFenceReleased.type, DeviceFenceReleasedV1>;
