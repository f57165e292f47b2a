import { DeviceProfileCreated, DeviceProfileDeleted } from '@cyborg/contracts';
import { foldingProjection } from '../projection';

/** Keeps `device_profiles`: one row per live profile. */
export const deviceProfilesProjection = foldingProjection({
  name: 'device_profiles',
  tables: [
    {
      name: 'device_profiles',
      columns: ['uuid', 'name', 'description', 'groups', 'created_at', 'updated_at', 'created_position'],
      json: ['groups'],
    },
  ],
  handlers: {
    [DeviceProfileCreated.type](event, rows) {
      const d = event.data;
      rows.table('device_profiles').insert({
        uuid: d.uuid,
        name: d.name,
        description: d.description,
        groups: d.groups,
        created_at: d.createdAt,
        updated_at: null,
        created_position: event.position,
      });
    },
    [DeviceProfileDeleted.type](event, rows) {
      const d = event.data;
      rows.table('device_profiles').delete(d.uuid);
    },
  },
});
