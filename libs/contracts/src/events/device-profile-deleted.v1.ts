import type { Event } from './event';
/** Stream `device_profile-<uuid>`: an operator deleted a device profile. */
export const DeviceProfileDeleted = { type: 'DeviceProfileDeleted', schemaVersion: 1 } as const;

export type DeviceProfileDeletedV1 = {
  uuid: string;
  name: string;
};

export type DeviceProfileDeleted = Event<typeof DeviceProfileDeleted.type, DeviceProfileDeletedV1>;
