import { Logger } from '@nestjs/common';
import { runAsService, type RunningService, type ServiceLogger, type Settings } from '@cyborg/config';
import { startAgent } from '../agent/src/start';
import { startApi } from '../api/src/start';
import { startConductor } from '../conductor/src/start';
import { startPlacementSync } from '../placement-sync/src/start';

/**
 * Conductor, API, placement-sync and one simulated host's agent in this
 * process, each exactly as it runs alone, each logging as itself: its own
 * `service` on its lines, its components' lines included.
 */
export async function startAllInOne(settings: Settings, logger: ServiceLogger): Promise<RunningService[]> {
  const services: RunningService[] = [];
  const start = async (name: string, run: (settings: Settings, logger: ServiceLogger) => Promise<RunningService>) => {
    const own = logger.forService(name);
    const running = await runAsService(own, () => run(settings, own));
    // Stopping is that service's work too (a signal handler runs outside every service).
    services.push({ ...running, close: () => runAsService(own, () => running.close()) });
  };
  try {
    await start('conductor', startConductor);
    await start('api', startApi);
    await start('placement-sync', startPlacementSync);
    await start('agent', startAgent);
  } catch (error) {
    for (const service of services.reverse()) await service.close().catch(() => undefined);
    throw error;
  }
  // Nest's component loggers share one logger per process; each line still goes out as the service whose work wrote it.
  Logger.overrideLogger(logger);
  return services;
}
