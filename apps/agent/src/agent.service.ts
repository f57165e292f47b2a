import { randomUUID } from 'node:crypto';
import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Settings } from '@cyborg/config';
import { conductorSubject, ConductorCommands, type PingReply, type RegisterHostResult } from '@cyborg/contracts';
import { RpcClient } from '@cyborg/messaging';

export const AGENT_VERSION = '0.1.0';

/** The host's agent: registers with the conductor and answers the host's work. */
@Injectable()
export class AgentService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('agent');
  private readonly startedAt = new Date().toISOString();
  private stopped = false;
  private registration: Promise<void> | null = null;

  constructor(
    private readonly settings: Settings,
    private readonly rpc: RpcClient,
  ) {}

  get hostname(): string {
    return this.settings.AGENT_HOSTNAME;
  }

  get drivers(): string[] {
    return this.settings.AGENT_DRIVERS.split(',').map((d) => d.trim()).filter(Boolean);
  }

  onApplicationBootstrap() {
    // The conductor may start after the agent: keep trying in the background.
    this.registration = this.registerUntilDone();
  }

  async onApplicationShutdown() {
    this.stopped = true;
    await this.registration;
  }

  ping(): PingReply {
    return { hostname: this.hostname, drivers: this.drivers, startedAt: this.startedAt };
  }

  private async registerUntilDone(): Promise<void> {
    const command = {
      commandId: randomUUID(),
      caller: { userId: null, projectId: null, roles: ['service'], service: true, requestId: null },
      hostname: this.hostname,
      drivers: this.drivers,
      agentVersion: AGENT_VERSION,
    };
    for (let delay = 250; !this.stopped; delay = Math.min(delay * 2, 10_000)) {
      try {
        const result = await this.rpc.request<RegisterHostResult>(conductorSubject(ConductorCommands.registerHost), command);
        this.logger.log({ msg: 'registered with the conductor', hostname: this.hostname, changed: result.changed });
        return;
      } catch (error) {
        this.logger.warn({ msg: 'registration failed, retrying', hostname: this.hostname, error: (error as Error).message, retryInMs: delay });
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }
}
