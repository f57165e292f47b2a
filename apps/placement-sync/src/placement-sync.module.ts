import { type DynamicModule, Module } from '@nestjs/common';
import { Settings } from '@cyborg/config';
import { eventSchemas } from '@cyborg/contracts';
import { EventStoreModule, EventTypeRegistry } from '@cyborg/event-store';
import { databaseMigrations } from '@cyborg/projections';
import { placementConfigured, PlacementSyncService } from './placement-sync.service';

@Module({})
export class PlacementSyncModule {
  static forRoot(settings: Settings): DynamicModule {
    // Without Placement there is nothing to do: not even a database connection.
    const imports = placementConfigured(settings)
      ? [
          EventStoreModule.forRoot({
            url: settings.DATABASE_URL,
            poolSize: Math.min(settings.DATABASE_POOL_SIZE, 4),
            applicationName: 'cyborg-placement-sync',
            migrations: databaseMigrations,
            registry: EventTypeRegistry.from(eventSchemas),
          }),
        ]
      : [];
    return {
      module: PlacementSyncModule,
      imports,
      providers: [{ provide: Settings, useValue: settings }, PlacementSyncService],
    };
  }
}
