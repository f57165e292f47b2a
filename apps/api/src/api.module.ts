import { APP_GUARD } from '@nestjs/core';
import { Policy } from '@cyborg/policy';
import { type DynamicModule, Logger, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { Logger as PinoLogger } from 'pino';
import { Settings } from '@cyborg/config';
import { eventSchemas } from '@cyborg/contracts';
import { EventStoreModule, EventTypeRegistry } from '@cyborg/event-store';
import { MessagingModule } from '@cyborg/messaging';
import {
  ArqsReadModel,
  databaseMigrations,
  DeviceProfilesReadModel,
  InventoryReadModel,
  ProjectionsModule,
  readModelProjections,
} from '@cyborg/projections';
import { AcceleratorRequestsController } from './accelerator-requests/accelerator-requests.controller';
import { AttributesController } from './attributes/attributes.controller';
import { EventsController } from './audit/events.controller';
import { HistoryController } from './audit/history.controller';
import { UsageController } from './audit/usage.controller';
import { DeployablesController } from './deployables/deployables.controller';
import { DeviceProfilesController } from './device-profiles/device-profiles.controller';
import { DevicesController } from './devices/devices.controller';
import { PlacementSyncController } from './placement-sync/placement-sync.controller';
import { V2Controller, VersionsController } from './versions/versions.controller';
import { PolicyGuard } from './http/policy.guard';
import { HealthController, HealthService } from './health/health.controller';
import { CommandSender } from './http/command-sender';
import { accessLogParams } from './http/access-log';
import { ApiMetrics, MetricsController } from './health/metrics.controller';
import { OpenApiController, OpenApiDocument } from './openapi/openapi';

@Module({})
export class ApiModule {
  /** `logger`: where the access log goes (the service's own pino logger). */
  static forRoot(settings: Settings, logger: PinoLogger): DynamicModule {
    return {
      module: ApiModule,
      imports: [
        LoggerModule.forRoot(accessLogParams(logger)),
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
        MessagingModule.forRoot({
          servers: settings.NATS_URL,
          name: 'cyborg-api',
          defaultTimeoutMs: settings.RPC_TIMEOUT_MS,
        }),
      ],
      controllers: [
        HealthController,
        MetricsController,
        OpenApiController,
        VersionsController,
        V2Controller,
        DeviceProfilesController,
        DevicesController,
        PlacementSyncController,
        DeployablesController,
        AttributesController,
        AcceleratorRequestsController,
        EventsController,
        HistoryController,
        UsageController,
      ],
      providers: [
        { provide: Settings, useValue: settings },
        { provide: Policy, useFactory: () => policyOf(settings) },
        { provide: APP_GUARD, useClass: PolicyGuard },
        HealthService,
        ApiMetrics,
        OpenApiDocument,
        CommandSender,
        DeviceProfilesReadModel,
        InventoryReadModel,
        ArqsReadModel,
      ],
    };
  }
}

/** The policy file over the defaults, enforced as the two oslo.policy settings say. */
function policyOf(settings: Settings): Policy {
  const logger = new Logger('policy');
  return Policy.fromFile(settings.POLICY_FILE, {
    enforceScope: settings.POLICY_ENFORCE_SCOPE,
    enforceNewDefaults: settings.POLICY_ENFORCE_NEW_DEFAULTS,
    onScopeMismatch: (rule, scope, scopeTypes) =>
      logger.warn({
        msg: `policy ${rule} is for ${scopeTypes.join(', ')}-scoped tokens but was checked with a ${scope}-scoped one; POLICY_ENFORCE_SCOPE=false lets it through to the rule's check`,
        rule,
      }),
  });
}
