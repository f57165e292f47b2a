import { type DynamicModule, Module } from '@nestjs/common';
import { Settings } from '@cyborg/config';
import { MessagingModule } from '@cyborg/messaging';
import { NovaNotifier } from '../nova/nova-notifier';
import { AgentWorkClient } from './agent-work.client';
import { BindArqsController, BindArqsHandler } from './bind-arqs.handler';
import { BindJobs } from './bind-jobs';
import { CreateArqsController, CreateArqsHandler } from './create-arqs.handler';
import { HostLocks } from './host-locks';
import { ReleaseArqsController, ReleaseArqsHandler } from './release-arqs.handler';
import { SetDeviceStatusController, SetDeviceStatusHandler } from './set-device-status.handler';
import { ProgramDeployableController, ProgramDeployableHandler } from '../programming/program-deployable.handler';
import { HeartbeatController, HostLiveness } from '../host-liveness/host-liveness';
import { QuotaService } from '../quota/quota.service';
import { ReleaseDeviceFenceController, ReleaseDeviceFenceHandler } from '../device-health/release-fence.handler';
import { ReshapeDeviceController, ReshapeDeviceHandler, ReshapeJobs } from '../reshape/reshape-device.handler';

/** The conductor's ARQ lifecycle: create, bind (with the agents), unbind, delete, device status, Nova. */
@Module({})
export class ArqsModule {
  static forRoot(settings: Settings): DynamicModule {
    return {
      module: ArqsModule,
      imports: [
        // Requests to the hosts' agents; the conductor's own subjects are served by its microservice.
        MessagingModule.forRoot({
          servers: settings.NATS_URL,
          name: 'cyborg-conductor-client',
          defaultTimeoutMs: settings.RPC_TIMEOUT_MS,
        }),
      ],
      controllers: [
        CreateArqsController,
        BindArqsController,
        ReleaseArqsController,
        SetDeviceStatusController,
        ProgramDeployableController,
        HeartbeatController,
        ReleaseDeviceFenceController,
        ReshapeDeviceController,
      ],
      providers: [
        { provide: Settings, useValue: settings },
        HostLocks,
        QuotaService,
        AgentWorkClient,
        NovaNotifier,
        BindJobs,
        CreateArqsHandler,
        BindArqsHandler,
        ReleaseArqsHandler,
        SetDeviceStatusHandler,
        ProgramDeployableHandler,
        HostLiveness,
        ReleaseDeviceFenceHandler,
        ReshapeJobs,
        ReshapeDeviceHandler,
      ],
      exports: [HostLiveness, AgentWorkClient],
    };
  }
}
