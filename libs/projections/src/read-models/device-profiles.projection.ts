import {
  DeviceProfileCreated,
  type DeviceProfileCreatedV1,
  DeviceProfileDeleted,
  type DeviceProfileDeletedV1,
} from '@cyborg/contracts';
import type { Projection } from '../projection';

/** Keeps `device_profiles`: one row per live profile. */
export const deviceProfilesProjection: Projection = {
  name: 'device_profiles',
  eventTypes: [DeviceProfileCreated.type, DeviceProfileDeleted.type],
  tables: ['device_profiles'],
  async apply(event, tx) {
    switch (event.type) {
      case DeviceProfileCreated.type: {
        const data = event.data as unknown as DeviceProfileCreatedV1;
        await tx.query(
          `INSERT INTO device_profiles (uuid, name, description, groups, created_at, updated_at, created_position)
           VALUES ($1, $2, $3, $4, $5, NULL, $6)`,
          [data.uuid, data.name, data.description, JSON.stringify(data.groups), data.createdAt, event.position],
        );
        return;
      }
      case DeviceProfileDeleted.type: {
        const data = event.data as unknown as DeviceProfileDeletedV1;
        await tx.query(`DELETE FROM device_profiles WHERE uuid = $1`, [data.uuid]);
        return;
      }
    }
  },
};
