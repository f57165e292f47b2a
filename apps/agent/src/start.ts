import type { LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { MicroserviceOptions } from '@nestjs/microservices';
import type { NatsConnection } from '@nats-io/transport-node';
import type { RunningService, Settings } from '@cyborg/config';
import { configureRpcApp, natsMicroserviceOptions, subscriptionsReady } from '@cyborg/messaging';
import { probe } from '@cyborg/metrics';
import { AgentModule } from './agent.module';

/** One host's agent: answers `cyborg.agent.<host>.*` (no queue group: one agent per host). */
export async function startAgent(settings: Settings, logger: LoggerService): Promise<RunningService> {
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(AgentModule.forHost(settings), {
    ...natsMicroserviceOptions({ servers: settings.NATS_URL, name: `cyborg-agent-${settings.AGENT_HOSTNAME}` }),
    logger,
  });
  configureRpcApp(app, logger);
  await app.listen();
  await subscriptionsReady(app);
  logger.log({ msg: 'agent listening', hostname: settings.AGENT_HOSTNAME, drivers: settings.AGENT_DRIVERS });
  const nats = app.unwrap<NatsConnection>();
  return {
    name: `agent:${settings.AGENT_HOSTNAME}`,
    close: () => app.close(),
    // Its work and its reports both go through NATS.
    readiness: async () => ({ nats: await probe(() => nats.rtt(), 'NATS') }),
  };
}
