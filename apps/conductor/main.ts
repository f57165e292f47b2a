import 'reflect-metadata';
import { createLogger, loadSettings, runUntilSignalled } from '@cyborg/config';
import { opsExposureWarning, opsMetricsAccess, processMetrics, serveOps } from '@cyborg/metrics';
import { startConductor } from './src/start';

const settings = loadSettings();
const logger = createLogger('conductor', settings);
// Its own small port for Prometheus and probes: this service has no API.
await runUntilSignalled(logger, async () => {
  const service = await startConductor(settings, logger);
  const ops = await serveOps({
    service: 'conductor',
    host: settings.CONDUCTOR_METRICS_HOST,
    port: settings.CONDUCTOR_METRICS_PORT,
    access: opsMetricsAccess(settings.METRICS_TOKEN),
    metrics: processMetrics(),
    ready: service.readiness,
  });
  logger.log({ msg: 'metrics and health listening', url: ops.url });
  const exposed = opsExposureWarning('conductor', settings.CONDUCTOR_METRICS_HOST, settings.METRICS_TOKEN);
  if (exposed) logger.warn({ msg: exposed });
  return [service, ops];
});
