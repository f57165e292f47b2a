import { Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Settings } from '@cyborg/config';
import { HostHeartbeats } from '@cyborg/event-store';
import { processMetrics, watchProcessorLag } from '@cyborg/metrics';

/** The log processors the conductor runs: their lag is the conductor's to report. */
const CONDUCTOR_PROCESSORS = ['relay:jetstream', 'nova-notifications'];

/** What the conductor's metrics read at scrape time: its processors' lag, hosts up and down. */
@Injectable()
export class ConductorMetrics implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly removals: (() => void)[] = [];

  constructor(
    private readonly dataSource: DataSource,
    private readonly heartbeats: HostHeartbeats,
    private readonly settings: Settings,
  ) {}

  onApplicationBootstrap(): void {
    const metrics = processMetrics();
    this.removals.push(watchProcessorLag(metrics, this.dataSource, CONDUCTOR_PROCESSORS));
    this.removals.push(
      metrics.onScrape(async () => {
        const { up, down } = await this.heartbeats.tally(this.settings.HOST_DOWN_AFTER_MS);
        metrics.hosts.set({ state: 'up' }, up);
        metrics.hosts.set({ state: 'down' }, down);
      }),
    );
  }

  onApplicationShutdown(): void {
    for (const remove of this.removals.splice(0)) remove();
  }
}
