import 'reflect-metadata';
import { createLogger, loadSettings, runUntilSignalled } from '@cyborg/config';
import { opsExposureWarning, opsMetricsAccess, processMetrics, serveOps } from '@cyborg/metrics';
import { startAgent } from './src/start';

const settings = loadSettings();
const logger = createLogger('agent', settings);
// Its own small port for Prometheus and probes: this service has no API.
await runUntilSignalled(logger, async () => {
  const service = await startAgent(settings, logger);
  const ops = await serveOps({
    service: 'agent',
    host: settings.AGENT_METRICS_HOST,
    port: settings.AGENT_METRICS_PORT,
    access: opsMetricsAccess(settings.METRICS_TOKEN),
    metrics: processMetrics(),
    ready: service.readiness,
  });
  logger.log({ msg: 'metrics and health listening', url: ops.url });
  const exposed = opsExposureWarning('agent', settings.AGENT_METRICS_HOST, settings.METRICS_TOKEN);
  if (exposed) logger.warn({ msg: exposed });
  return [service, ops];
});
