import { Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { EventStore, eventsStreamFrom, JetStreamRelay, ProcessorRunner } from '@cyborg/event-store';
import { connectNats } from '@cyborg/messaging';
import { Settings } from '@cyborg/config';

/** Publishes the committed log to JetStream (the log is the outbox). One active relay across conductors. */
@Injectable()
export class RelayService implements OnApplicationBootstrap, OnApplicationShutdown {
  private nc: NatsConnection | null = null;
  private runner: ProcessorRunner | null = null;

  constructor(
    private readonly store: EventStore,
    private readonly settings: Settings,
  ) {}

  async onApplicationBootstrap() {
    this.nc = await connectNats(this.settings.NATS_URL, 'cyborg-conductor-relay');
    const relay = new JetStreamRelay(this.nc, eventsStreamFrom(this.settings));
    this.runner = new ProcessorRunner(relay, this.store, {
      databaseUrl: this.settings.DATABASE_URL,
      pollIntervalMs: this.settings.PROJECTION_POLL_MS,
    });
    await this.runner.start();
  }

  async onApplicationShutdown() {
    await this.runner?.stop();
    await this.nc?.drain().catch(() => undefined);
  }
}
