import { type DynamicModule, Module } from '@nestjs/common';
import { Settings } from '@cyborg/config';
import { eventSchemas } from '@cyborg/contracts';
import { EventStoreModule, EventTypeRegistry } from '@cyborg/event-store';
import { MessagingModule } from '@cyborg/messaging';
import { databaseMigrations, ProjectionsModule, readModelProjections } from '@cyborg/projections';
import { HealthController, HealthService } from './health/health.controller';

@Module({})
export class ApiModule {
  static forRoot(settings: Settings): DynamicModule {
    return {
      module: ApiModule,
      imports: [
        EventStoreModule.forRoot({
          url: settings.DATABASE_URL,
          poolSize: settings.DATABASE_POOL_SIZE,
          applicationName: 'cyborg-api',
          migrations: databaseMigrations,
          registry: EventTypeRegistry.from(eventSchemas),
        }),
        ProjectionsModule.forRoot({
          projections: readModelProjections,
          databaseUrl: settings.DATABASE_URL,
          pollIntervalMs: settings.PROJECTION_POLL_MS,
        }),
        MessagingModule.forRoot({ servers: settings.NATS_URL, name: 'cyborg-api', defaultTimeoutMs: settings.RPC_TIMEOUT_MS }),
      ],
      controllers: [HealthController],
      providers: [{ provide: Settings, useValue: settings }, HealthService],
    };
  }
}
