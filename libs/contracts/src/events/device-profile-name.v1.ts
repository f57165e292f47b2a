/**
 * Stream `device_profile_name-<name>`: who holds a device-profile name. Written
 * in the same transaction as DeviceProfileCreated / DeviceProfileDeleted, so a
 * name's owner is decided from the log, never from a read model.
 */
export const DeviceProfileNameClaimed = { type: 'DeviceProfileNameClaimed', schemaVersion: 1 } as const;
export const DeviceProfileNameReleased = { type: 'DeviceProfileNameReleased', schemaVersion: 1 } as const;

export interface DeviceProfileNameClaimedV1 {
  name: string;
  uuid: string;
}

export interface DeviceProfileNameReleasedV1 {
  name: string;
  uuid: string;
}
