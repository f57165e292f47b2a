import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { MessagingModule, RpcClient } from '@cyborg/messaging';
import { FleetHosts, type FleetHostOptions } from './fleet-hosts';

/**
 * A fleet worker: thousands of simulated hosts in one process (bench/fleet/fleet.ts
 * forks several), driven over IPC. Each request has an id; its answer carries it.
 */
export type FleetRequest =
  | { id: number; type: 'add'; hostnames: string[] }
  | { id: number; type: 'silence'; hostname: string }
  | { id: number; type: 'stats'; reset: boolean }
  | { id: number; type: 'stop' };

const options = JSON.parse(process.env.FLEET_OPTIONS ?? '{}') as FleetHostOptions;
const messaging = await NestFactory.createApplicationContext(
  MessagingModule.forRoot({
    servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
    name: `cyborg-bench-fleet-${process.pid}`,
    defaultTimeoutMs: options.timeoutMs ?? 30_000,
  }),
  { logger: false },
);
await messaging.init();
const fleet = new FleetHosts(messaging.get(RpcClient), options);

async function answer(request: FleetRequest): Promise<unknown> {
  switch (request.type) {
    case 'add':
      return fleet.add(request.hostnames);
    case 'silence':
      return fleet.silence(request.hostname);
    case 'stats':
      return fleet.stats(request.reset);
    case 'stop':
      fleet.stop();
      await messaging.close();
      return null;
  }
}

process.on('message', (request: FleetRequest) => {
  answer(request).then(
    (result) => {
      process.send?.({ id: request.id, result });
      if (request.type === 'stop') process.disconnect();
    },
    (error: unknown) =>
      process.send?.({ id: request.id, error: error instanceof Error ? error.message : String(error) }),
  );
});
process.send?.({ ready: true });
