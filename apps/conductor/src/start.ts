import type { LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { MicroserviceOptions } from '@nestjs/microservices';
import { CONDUCTOR_QUEUE } from '@cyborg/contracts';
import type { RunningService, Settings } from '@cyborg/config';
import { configureRpcApp, natsMicroserviceOptions, subscriptionsReady } from '@cyborg/messaging';
import { ConductorModule } from './conductor.module';

/** The conductor: decides every command, appends events, relays the log to JetStream. */
export async function startConductor(settings: Settings, logger: LoggerService): Promise<RunningService> {
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(ConductorModule.forRoot(settings), {
    ...natsMicroserviceOptions({ servers: settings.NATS_URL, queue: CONDUCTOR_QUEUE, name: 'cyborg-conductor' }),
    logger,
  });
  configureRpcApp(app);
  await app.listen();
  await subscriptionsReady(app);
  logger.log({ msg: 'conductor listening', subjects: 'cyborg.conductor.*', queue: CONDUCTOR_QUEUE });
  return { name: 'conductor', close: () => app.close() };
}
