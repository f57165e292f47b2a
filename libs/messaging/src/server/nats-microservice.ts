import type { INestMicroservice, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Transport, type NatsOptions } from '@nestjs/microservices';
import { natsServerOptions } from '../nats-servers';
import { MalformedMessageInterceptor } from './malformed-message.interceptor';
import { RequestContextInterceptor } from './request-context.interceptor';
import { RpcErrorFilter } from './rpc-error.filter';
import { RpcReplySerializer } from './rpc-reply.serializer';
import { RpcRequestDeserializer } from './rpc-request.deserializer';
import { RpcValidationPipe } from './rpc-validation.pipe';

export interface NatsMicroserviceConfig {
  servers: string | string[];
  /** Queue group: members share the subjects, each message goes to one of them. */
  queue?: string;
  /** Connection name shown by the NATS server monitoring. */
  name?: string;
  /** Wait between reconnect attempts (plus up to 500 ms jitter); default 2000. */
  reconnectTimeWaitMs?: number;
  /** Keep retrying the first connect instead of failing startup; default true. */
  waitOnFirstConnect?: boolean;
  /**
   * When set, `close()` unsubscribes first and waits this long before closing,
   * so in-flight requests finish and new ones go to other queue members.
   */
  gracePeriodMs?: number;
}

export type NatsMicroserviceOptions = NatsOptions & { transport: Transport.NATS };

/** Microservice options for a Cyborg service on NATS, reconnecting forever. */
export function natsMicroserviceOptions(config: NatsMicroserviceConfig): NatsMicroserviceOptions {
  const graceful = config.gracePeriodMs !== undefined && config.gracePeriodMs > 0;
  return {
    transport: Transport.NATS,
    options: {
      ...natsServerOptions(config.servers),
      ...(config.queue ? { queue: config.queue } : {}),
      ...(config.name ? { name: config.name } : {}),
      maxReconnectAttempts: -1,
      reconnectTimeWait: config.reconnectTimeWaitMs ?? 2000,
      reconnectJitter: 500,
      waitOnFirstConnect: config.waitOnFirstConnect ?? true,
      deserializer: new RpcRequestDeserializer(),
      serializer: new RpcReplySerializer(),
      ...(graceful ? { gracefulShutdown: true, gracePeriod: config.gracePeriodMs } : {}),
    },
  };
}

/** Nest application-context options (logger, bufferLogs, ...). */
export type MicroserviceAppOptions = NonNullable<Parameters<typeof NestFactory.createMicroservice>[1]>;

type RpcConfigurableApp = Pick<INestMicroservice, 'useGlobalPipes' | 'useGlobalFilters' | 'useGlobalInterceptors'>;

/** Installs the validation pipe, malformed-message guard, request context and error filter globally. */
export function configureRpcApp<TApp extends RpcConfigurableApp>(app: TApp, logger?: LoggerService): TApp {
  app.useGlobalPipes(new RpcValidationPipe());
  app.useGlobalInterceptors(new RequestContextInterceptor(logger), new MalformedMessageInterceptor());
  app.useGlobalFilters(new RpcErrorFilter());
  return app;
}

/** Creates (does not start) a NATS microservice with the RPC globals installed. */
export async function createRpcMicroservice(
  module: Parameters<typeof NestFactory.createMicroservice>[0],
  config: NatsMicroserviceConfig,
  appOptions: MicroserviceAppOptions = {},
): Promise<INestMicroservice> {
  const app = await NestFactory.createMicroservice<NatsMicroserviceOptions>(module, {
    ...appOptions,
    ...natsMicroserviceOptions(config),
  });
  return configureRpcApp(app);
}

/**
 * Resolves once the NATS server holds the app's subscriptions (a flush round
 * trip after `listen()`, which only queues them), so a request sent next
 * finds its handler rather than "no responders".
 */
export async function subscriptionsReady(app: Pick<INestMicroservice, 'unwrap'>): Promise<void> {
  await app.unwrap<{ flush(): Promise<void> }>().flush();
}
