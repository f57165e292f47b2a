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

/**
 * A connection for a one-off command (the operator CLI): fails within
 * `timeoutMs` when no server answers, instead of waiting for one forever.
 */
export function connectNatsOnce(servers: string, name: string, timeoutMs = 5000): Promise<NatsConnection> {
  return connect({ ...natsServerOptions(servers), name, timeout: timeoutMs, maxReconnectAttempts: 0 });
}
