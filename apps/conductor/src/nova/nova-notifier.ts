import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Settings } from '@cyborg/config';
import { type ArqBoundEvent, NovaClient } from './nova-client';

/**
 * Sends bind outcomes to Nova in the background, so a bind never waits on
 * Nova; without NOVA_URL it only logs. Pending sends are cut short at shutdown.
 */
@Injectable()
export class NovaNotifier implements OnApplicationShutdown {
  private readonly logger = new Logger('nova');
  private readonly client: NovaClient | null;
  private readonly stopping = new AbortController();
  private readonly pending = new Set<Promise<void>>();

  constructor(settings: Settings) {
    this.client = settings.NOVA_URL
      ? new NovaClient({ url: settings.NOVA_URL, token: settings.NOVA_AUTH_TOKEN || undefined })
      : null;
  }

  notify(events: readonly ArqBoundEvent[]): void {
    if (events.length === 0) return;
    if (!this.client) {
      this.logger.debug({ msg: 'NOVA_URL unset: bind outcomes not sent to Nova', events: events.length });
      return;
    }
    const client = this.client;
    const sending = (async () => {
      const delivery = await client.sendBindEvents(events, this.stopping.signal);
      const arqs = events.map((e) => `${e.arqUuid}:${e.status}`);
      if (delivery.delivered)
        this.logger.log({ msg: 'Nova notified', arqs, status: delivery.status, detail: delivery.detail });
      else this.logger.error({ msg: 'Nova not notified', arqs, status: delivery.status, detail: delivery.detail });
    })().catch((error: unknown) => this.logger.error({ msg: 'Nova notification failed', error: String(error) }));
    this.pending.add(sending);
    void sending.finally(() => this.pending.delete(sending));
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping.abort();
    await Promise.all([...this.pending]);
  }
}
