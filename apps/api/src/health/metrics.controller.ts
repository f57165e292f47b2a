import {
  Controller,
  Get,
  Header,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  Res,
} from '@nestjs/common';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
import { processMetrics, watchProcessorLag } from '@cyborg/metrics';
import { checkpointName, readModelProjections } from '@cyborg/projections';

/** What the API's metrics read at scrape time: its projections' lag and the devices it knows. */
@Injectable()
export class ApiMetrics implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly removals: (() => void)[] = [];

  constructor(private readonly dataSource: DataSource) {}

  onApplicationBootstrap(): void {
    const metrics = processMetrics();
    this.removals.push(watchProcessorLag(metrics, this.dataSource, readModelProjections.map(checkpointName)));
    this.removals.push(
      metrics.onScrape(async () => {
        const rows: { type: string; state: string; n: number }[] = await this.dataSource.query(
          `SELECT type, CASE WHEN draining THEN 'draining' ELSE status END AS state, count(*)::int AS n
           FROM devices GROUP BY 1, 2`,
        );
        metrics.devices.reset();
        for (const row of rows) metrics.devices.set({ type: row.type, state: row.state }, row.n);
      }),
    );
  }

  onApplicationShutdown(): void {
    for (const remove of this.removals.splice(0)) remove();
  }
}

/**
 * Prometheus's scrape target. In `npm start` the one process's registry holds
 * every service's metrics, so this serves them all.
 */
@Controller()
export class MetricsController {
  @Get('metrics')
  @Header('cache-control', 'no-store')
  async metrics(@Res({ passthrough: true }) response: Response): Promise<string> {
    const metrics = processMetrics();
    const text = await metrics.scrape();
    response.type(metrics.contentType);
    return text;
  }
}
