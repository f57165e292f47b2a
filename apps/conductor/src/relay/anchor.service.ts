import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { eventsStreamFrom, EventStore, LogAnchorer } from '@cyborg/event-store';
import { connectNats } from '@cyborg/messaging';
import { Settings } from '@cyborg/config';

/** Anchors the log in JetStream every ANCHOR_INTERVAL_MS, so a rewrite inside PostgreSQL shows in `cyborg verify`. */
@Injectable()
export class AnchorService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('anchors');
  private nc: NatsConnection | null = null;
  private anchorer: LogAnchorer | null = null;

  constructor(
    private readonly store: EventStore,
    private readonly settings: Settings,
  ) {}

  async onApplicationBootstrap() {
    if (this.settings.ANCHOR_INTERVAL_MS === 0) return;
    this.nc = await connectNats(this.settings.NATS_URL, 'cyborg-conductor-anchors');
    this.anchorer = new LogAnchorer(this.nc, this.store, {
      ...eventsStreamFrom(this.settings),
      intervalMs: this.settings.ANCHOR_INTERVAL_MS,
      signingKey: this.settings.ANCHOR_SIGNING_KEY,
      onError: (error) => this.logger.warn(`log not anchored this time, trying again: ${(error as Error).message}`),
    });
    if (!this.settings.ANCHOR_SIGNING_KEY) this.logger.log('ANCHOR_SIGNING_KEY is unset: anchors are not signed');
    this.anchorer.start();
  }

  async onApplicationShutdown() {
    await this.anchorer?.stop();
    await this.nc?.drain().catch(() => undefined);
  }
}
