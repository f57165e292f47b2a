import { eventStoreMigrations } from '@cyborg/event-store';
import { DeviceProfiles1795228683656 } from './migrations/1795228683656-device-profiles';
import { Inventory1795229178383 } from './migrations/1795229178383-inventory';
import { PlacementSyncStatus1795235000000 } from './migrations/1795235000000-placement-sync-status';
import { Arqs1795236000000 } from './migrations/1795236000000-arqs';
import { ProjectionRebuilds1795241500000 } from './migrations/1795241500000-projection-rebuilds';
import { DeviceHealth1795250000000 } from './migrations/1795250000000-device-health';
import { HostListIndexes1795260000000 } from './migrations/1795260000000-host-list-indexes';

/** Read-model table migrations, in order. */
export const readModelMigrations: (new () => object)[] = [
  DeviceProfiles1795228683656,
  Inventory1795229178383,
  // Written by placement-sync rather than a projection; the API reads it.
  PlacementSyncStatus1795235000000,
  Arqs1795236000000,
  // Progress of blue/green rebuilds, for `projections status`.
  ProjectionRebuilds1795241500000,
  DeviceHealth1795250000000,
  HostListIndexes1795260000000,
];

/** The whole schema: the event log first, then the read models. Every service runs the same list. */
export const databaseMigrations = [...eventStoreMigrations, ...readModelMigrations];
