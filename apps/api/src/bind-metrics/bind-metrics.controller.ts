import { Controller, Get, Header, Query } from '@nestjs/common';
import { Settings } from '@cyborg/config';
import {
  type BindMetricsSample,
  localBindMetrics,
  processMetrics,
  remoteBindMetrics,
  sampleBindMetrics,
} from '@cyborg/metrics';
import { Versioned } from '../http/microversion';
import { Authorize } from '../http/policy.guard';
import { strictQuery } from '../http/query';

/** A conductor that does not answer within this is reported as such; the console samples every few seconds. */
const CONDUCTOR_TIMEOUT_MS = 2000;

/**
 * The bind metrics (an extension): `cyborg_binds_total` and
 * `cyborg_bind_duration_seconds` as they stand now, summed over this
 * process's registry and each conductor of CONDUCTOR_METRICS_URLS. Admin
 * only, like the metrics port; the console samples it and draws rates and
 * quantiles from the differences.
 */
@Controller('v2/bind_metrics')
@Versioned()
export class BindMetricsController {
  constructor(private readonly settings: Settings) {}

  @Authorize('cyborg:bind_metrics:get')
  @Get()
  @Header('cache-control', 'no-store')
  async sample(@Query() query: Record<string, unknown>): Promise<BindMetricsSample> {
    strictQuery(query, []);
    return sampleBindMetrics([
      { name: 'api', read: () => localBindMetrics(processMetrics()) },
      ...this.settings.CONDUCTOR_METRICS_URLS.map((url) => ({
        name: url,
        read: () => remoteBindMetrics(url, CONDUCTOR_TIMEOUT_MS, this.settings.METRICS_TOKEN),
      })),
    ]);
  }
}
