import { connect, type NatsConnection } from '@nats-io/transport-node';
import { natsServerOptions } from './nats-servers';

/**
 * A raw NATS connection for JetStream work (the relay, durable consumers).
 * It reconnects forever with backoff; callers see failures as rejected
 * publishes or requests, never as a dead connection.
 */
export function connectNats(servers: string, name: string): Promise<NatsConnection> {
  return connect({
    ...natsServerOptions(servers),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    reconnectJitter: 250,
    waitOnFirstConnect: true,
  });
}
