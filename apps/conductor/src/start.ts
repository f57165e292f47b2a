import type { LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { MicroserviceOptions } from '@nestjs/microservices';
import type { NatsConnection } from '@nats-io/transport-node';
import { DataSource } from 'typeorm';
import { CONDUCTOR_QUEUE } from '@cyborg/contracts';
import type { RunningService, Settings } from '@cyborg/config';
import {
  CommandMetricsInterceptor,
  configureRpcApp,
  natsMicroserviceOptions,
  subscriptionsReady,
} from '@cyborg/messaging';
import { probe } from '@cyborg/metrics';
import { ConductorModule } from './conductor.module';

/** The conductor: decides every command, appends events, relays the log to JetStream. */
export async function startConductor(settings: Settings, logger: LoggerService): Promise<RunningService> {
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(ConductorModule.forRoot(settings), {
    ...natsMicroserviceOptions({ servers: settings.NATS_URL, queue: CONDUCTOR_QUEUE, name: 'cyborg-conductor' }),
    logger,
  });
  configureRpcApp(app, logger);
  app.useGlobalInterceptors(new CommandMetricsInterceptor());
  await app.listen();
  await subscriptionsReady(app);
  logger.log({ msg: 'conductor listening', subjects: 'cyborg.conductor.*', queue: CONDUCTOR_QUEUE });
  const dataSource = app.get(DataSource);
  const nats = app.unwrap<NatsConnection>();
  return {
    name: 'conductor',
    close: () => app.close(),
    // Ready when it can decide (PostgreSQL) and hear commands (NATS).
    readiness: async () => ({
      postgres: await probe(() => dataSource.query('SELECT 1'), 'PostgreSQL'),
      nats: await probe(() => nats.rtt(), 'NATS'),
    }),
  };
}
