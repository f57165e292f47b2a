import { type DynamicModule, Module } from '@nestjs/common';
import { Settings } from '@cyborg/config';
import { EventStoreModule, EventTypeRegistry } from '@cyborg/event-store';
import { databaseMigrations } from '@cyborg/projections';
import { eventSchemas } from '@cyborg/contracts';
import { HostAggregate, InstanceAggregate } from '@cyborg/domain';
import {
  CreateDeviceProfileController,
  CreateDeviceProfileHandler,
} from './create-device-profile/create-device-profile.handler';
import {
  DeleteDeviceProfileController,
  DeleteDeviceProfileHandler,
} from './delete-device-profile/delete-device-profile.handler';
import { RegisterHostController, RegisterHostHandler } from './register-host/register-host.handler';
import { ReportInventoryController, ReportInventoryHandler } from './report-inventory/report-inventory.handler';
import { RelayService } from './relay/relay.service';
import { AnchorService } from './relay/anchor.service';
import { ArqsModule } from './arqs/arqs.module';
import { AttributesController, AttributesHandler } from './attributes/attributes.handler';
import { ConductorMetrics } from './metrics/conductor-metrics';

@Module({})
export class ConductorModule {
  static forRoot(settings: Settings): DynamicModule {
    return {
      module: ConductorModule,
      imports: [
        EventStoreModule.forRoot({
          url: settings.DATABASE_URL,
          poolSize: settings.DATABASE_POOL_SIZE,
          applicationName: 'cyborg-conductor',
          migrations: databaseMigrations,
          registry: EventTypeRegistry.from(eventSchemas),
          cachedStates: new Map([[HostAggregate, settings.CONDUCTOR_HOST_STATES_CACHED]]),
          // An instance's stream is new at its first bind, the bind that nearly every instance makes.
          assumedNew: new Set([InstanceAggregate]),
        }),
        ArqsModule.forRoot(settings),
      ],
      controllers: [
        RegisterHostController,
        CreateDeviceProfileController,
        DeleteDeviceProfileController,
        ReportInventoryController,
        AttributesController,
      ],
      providers: [
        { provide: Settings, useValue: settings },
        RegisterHostHandler,
        CreateDeviceProfileHandler,
        DeleteDeviceProfileHandler,
        ReportInventoryHandler,
        AttributesHandler,
        RelayService,
        AnchorService,
        ConductorMetrics,
      ],
    };
  }
}
