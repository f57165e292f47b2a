import type { Event } from './event';
/**
 * Stream `device_profile_name-<name>`: who holds a device-profile name. Written
 * in the same transaction as DeviceProfileCreated / DeviceProfileDeleted, so a
 * name's owner is decided from the log, never from a read model.
 */
export const DeviceProfileNameClaimed = { type: 'DeviceProfileNameClaimed', schemaVersion: 1 } as const;
export const DeviceProfileNameReleased = { type: 'DeviceProfileNameReleased', schemaVersion: 1 } as const;

export type DeviceProfileNameClaimedV1 = {
  name: string;
  uuid: string;
};

export type DeviceProfileNameReleasedV1 = {
  name: string;
  uuid: string;
};

export type DeviceProfileNameClaimed = Event<typeof DeviceProfileNameClaimed.type, DeviceProfileNameClaimedV1>;
export type DeviceProfileNameReleased = Event<typeof DeviceProfileNameReleased.type, DeviceProfileNameReleasedV1>;
