import { APP_GUARD } from '@nestjs/core';
import { Policy } from '@cyborg/policy';
import { type DynamicModule, Logger, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { Logger as PinoLogger } from 'pino';
import { DataSource } from 'typeorm';
import { Settings } from '@cyborg/config';
import { type CyborgEvent, eventSchemas } from '@cyborg/contracts';
import { AuditLog } from '@cyborg/audit';
import { EventStore, EventStoreModule, EventTypeRegistry } from '@cyborg/event-store';
import { MessagingModule } from '@cyborg/messaging';
import { KeystoneSession, serviceSessionOptions, TokenValidator } from '@cyborg/keystone';
import {
  ArqsReadModel,
  databaseMigrations,
  DeviceProfilesReadModel,
  HostsReadModel,
  InventoryReadModel,
  ProjectionsModule,
  readModelProjections,
} from '@cyborg/projections';
import { AcceleratorRequestsController } from './accelerator-requests/accelerator-requests.controller';
import { AttributesController } from './attributes/attributes.controller';
import { BindsController } from './audit/binds.controller';
import { EventStreamController } from './audit/event-stream.controller';
import { EventsController } from './audit/events.controller';
import { StateAtController } from './audit/state-at.controller';
import {
  CONSOLE_SESSION_OPTIONS,
  ConsoleSessionController,
  type ConsoleSessionOptions,
} from './console/console-session.controller';
import { ConsoleSignIn } from './console/console-sign-in';
import { HostsController } from './hosts/hosts.controller';
import { LogReadersController } from './log-readers/log-readers.controller';
import { HistoryController } from './audit/history.controller';
import { UsageController } from './audit/usage.controller';
import { DeployablesController } from './deployables/deployables.controller';
import { DeviceProfilesController } from './device-profiles/device-profiles.controller';
import { DevicesController } from './devices/devices.controller';
import { PlacementSyncController } from './placement-sync/placement-sync.controller';
import { V2Controller, VersionsController } from './versions/versions.controller';
import { PolicyGuard } from './http/policy.guard';
import { HealthController, HealthService } from './health/health.controller';
import { KEYSTONE_AUTH, type KeystoneAuth } from './http/authentication';
import { CommandSender } from './http/command-sender';
import { accessLogParams } from './http/access-log';
import { ApiMetrics, MetricsController } from './health/metrics.controller';
import { BindMetricsController } from './bind-metrics/bind-metrics.controller';
import { OpenApiController, OpenApiDocument } from './openapi/openapi';

@Module({})
export class ApiModule {
  /**
   * `logger`: where the access log goes (the service's own pino logger);
   * `keystone`: token validation under AUTH_STRATEGY=keystone, null under noauth.
   */
  static forRoot(settings: Settings, logger: PinoLogger, keystone: KeystoneAuth | null = null): DynamicModule {
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
        BindMetricsController,
        OpenApiController,
        VersionsController,
        V2Controller,
        DeviceProfilesController,
        DevicesController,
        PlacementSyncController,
        DeployablesController,
        AttributesController,
        AcceleratorRequestsController,
        EventStreamController,
        EventsController,
        HistoryController,
        StateAtController,
        BindsController,
        UsageController,
        HostsController,
        LogReadersController,
        ConsoleSessionController,
      ],
      providers: [
        { provide: Settings, useValue: settings },
        { provide: KEYSTONE_AUTH, useValue: keystone },
        { provide: Policy, useFactory: () => policyOf(settings) },
        { provide: APP_GUARD, useClass: PolicyGuard },
        HealthService,
        ApiMetrics,
        OpenApiDocument,
        CommandSender,
        DeviceProfilesReadModel,
        InventoryReadModel,
        ArqsReadModel,
        HostsReadModel,
        {
          provide: AuditLog,
          inject: [EventStore, DataSource],
          useFactory: (store: EventStore<CyborgEvent>, dataSource: DataSource) => new AuditLog(store, dataSource),
        },
        { provide: CONSOLE_SESSION_OPTIONS, useFactory: () => consoleSessionOptions(settings, keystone) },
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

/**
 * Keystone sign-in for the console unless identity comes from the request
 * (noauth); it shares the request guard's validator, so a sign-out drops the
 * token from the cache every request is checked against.
 */
function consoleSessionOptions(settings: Settings, keystone: KeystoneAuth | null): ConsoleSessionOptions {
  const signsIn = settings.AUTH_STRATEGY !== 'noauth' && settings.KEYSTONE_AUTH_URL;
  const signIn = signsIn
    ? new ConsoleSignIn(
        settings.KEYSTONE_AUTH_URL!,
        keystone?.validator ??
          new TokenValidator({
            session: new KeystoneSession(serviceSessionOptions(settings)),
            cacheTtlSeconds: settings.TOKEN_CACHE_TTL_SECONDS,
            serviceRoles: settings.SERVICE_TOKEN_ROLES.split(',').map((role) => role.trim()),
          }),
      )
    : null;
  return { authStrategy: settings.AUTH_STRATEGY, signIn, cookiesAlwaysSecure: settings.CONSOLE_COOKIE_SECURE };
}
