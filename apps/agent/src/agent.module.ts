import { type DynamicModule, Module } from '@nestjs/common';
import { Settings } from '@cyborg/config';
import { agentInboxPrefix } from '@cyborg/contracts';
import { MessagingModule } from '@cyborg/messaging';
import { AgentService } from './agent.service';
import { agentWorkController } from './agent-work.controller';
import { AttachHandleWorker } from './attach-handle.worker';
import { ProgrammingWorker } from './programming.worker';
import { ReshapeWorker } from './reshape.worker';

@Module({})
export class AgentModule {
  static forHost(settings: Settings): DynamicModule {
    return {
      module: AgentModule,
      imports: [
        MessagingModule.forRoot({
          servers: settings.NATS_URL,
          name: `cyborg-agent-${settings.AGENT_HOSTNAME}`,
          defaultTimeoutMs: settings.RPC_TIMEOUT_MS,
          // Replies to this agent only, so its NATS user can be kept from reading anyone else's.
          inboxPrefix: agentInboxPrefix(settings.AGENT_HOSTNAME),
        }),
      ],
      controllers: [agentWorkController(settings.AGENT_HOSTNAME)],
      providers: [
        { provide: Settings, useValue: settings },
        AgentService,
        AttachHandleWorker,
        ProgrammingWorker,
        ReshapeWorker,
      ],
    };
  }
}
