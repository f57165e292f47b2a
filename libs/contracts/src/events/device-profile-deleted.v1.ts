/** Stream `device_profile-<uuid>`: an operator deleted a device profile. */
export const DeviceProfileDeleted = { type: 'DeviceProfileDeleted', schemaVersion: 1 } as const;

export interface DeviceProfileDeletedV1 {
  uuid: string;
  name: string;
}
