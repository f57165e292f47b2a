import type { Event } from './event';
/** Stream `device_profile-<uuid>`: an operator created a device profile. */
export const DeviceProfileCreated = { type: 'DeviceProfileCreated', schemaVersion: 1 } as const;

/** One request group: Placement-style keys (`resources:`, `trait:`, `accel:`) to string values. */
export type DeviceProfileGroup = Record<string, string>;

export type DeviceProfileCreatedV1 = {
  uuid: string;
  name: string;
  description: string | null;
  groups: DeviceProfileGroup[];
  /** ISO 8601, decided by the conductor; read models copy it so rebuilds give the same rows. */
  createdAt: string;
};

export type DeviceProfileCreated = Event<typeof DeviceProfileCreated.type, DeviceProfileCreatedV1>;
