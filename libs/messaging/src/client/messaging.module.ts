import {
  Module,
  type DynamicModule,
  type FactoryProvider,
  type InjectionToken,
  type ModuleMetadata,
} from '@nestjs/common';
import { ClientProxyFactory, Transport, type ClientOptions } from '@nestjs/microservices';
import { natsServerOptions } from '../nats-servers';
import { RpcClient, type RpcClientSettings } from './rpc-client';
import { RpcReplyDeserializer } from './rpc-reply.deserializer';
import { MESSAGING_OPTIONS, RPC_CLIENT_PROXY } from './tokens';

export interface MessagingModuleOptions extends RpcClientSettings {
  servers: string | string[];
  /** NATS connection name (e.g. `cyborg-api`), shown by server monitoring. */
  name: string;
  /** Wait between reconnect attempts (plus up to 500 ms jitter); default 2000. */
  reconnectTimeWaitMs?: number;
  /** Subject prefix of this client's reply inboxes; default `_INBOX`. */
  inboxPrefix?: string;
}

export interface MessagingModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  inject?: InjectionToken[];
  useFactory: (...args: never[]) => MessagingModuleOptions | Promise<MessagingModuleOptions>;
}

/** Client options for Nest's NATS transport, reconnecting forever. */
export function natsClientOptions(options: MessagingModuleOptions): ClientOptions {
  return {
    transport: Transport.NATS,
    options: {
      ...natsServerOptions(options.servers),
      name: options.name,
      ...(options.inboxPrefix ? { inboxPrefix: options.inboxPrefix } : {}),
      maxReconnectAttempts: -1,
      reconnectTimeWait: options.reconnectTimeWaitMs ?? 2000,
      reconnectJitter: 500,
      // Fail the request (unavailable) rather than hang when NATS is down at start.
      waitOnFirstConnect: false,
      deserializer: new RpcReplyDeserializer(),
    },
  };
}

const proxyProvider: FactoryProvider = {
  provide: RPC_CLIENT_PROXY,
  inject: [MESSAGING_OPTIONS],
  useFactory: (options: MessagingModuleOptions) => ClientProxyFactory.create(natsClientOptions(options)),
};

/** Provides `RpcClient` app-wide; its connection is closed on app shutdown. */
@Module({})
export class MessagingModule {
  static forRoot(options: MessagingModuleOptions): DynamicModule {
    return {
      module: MessagingModule,
      global: true,
      providers: [{ provide: MESSAGING_OPTIONS, useValue: options }, proxyProvider, RpcClient],
      exports: [RpcClient, RPC_CLIENT_PROXY],
    };
  }

  static forRootAsync(options: MessagingModuleAsyncOptions): DynamicModule {
    return {
      module: MessagingModule,
      global: true,
      imports: options.imports ?? [],
      providers: [
        { provide: MESSAGING_OPTIONS, inject: options.inject ?? [], useFactory: options.useFactory },
        proxyProvider,
        RpcClient,
      ],
      exports: [RpcClient, RPC_CLIENT_PROXY],
    };
  }
}
