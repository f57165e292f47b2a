import 'reflect-metadata';
import { pathToFileURL } from 'node:url';
import { Logger } from '@nestjs/common';
import { createLogger, loadSettings, runUntilSignalled } from '@cyborg/config';
import { startAgent } from '../agent/src/start';
import { startApi } from '../api/src/start';
import { startConductor } from '../conductor/src/start';
import { startPlacementSync } from '../placement-sync/src/start';

/**
 * One machine, one process: conductor, API, placement-sync and one
 * simulated host's agent, each exactly as it runs alone. One logger (a
 * `service` field per service) and one metrics registry, served by the API's
 * `/metrics`: the services' own metrics ports are not opened.
 */
// The example bitstreams in deploy/bitstreams let the simulated FPGA be programmed without Glance.
const settings = loadSettings({ BITSTREAM_SOURCE: pathToFileURL('deploy/bitstreams').href, ...process.env });
const logger = createLogger('cyborg', settings);
await runUntilSignalled(logger, async () => {
  const services = [await startConductor(settings, logger.forService('conductor'))];
  services.push(await startApi(settings, logger.forService('api')));
  services.push(await startPlacementSync(settings, logger.forService('placement-sync')));
  services.push(await startAgent(settings, logger.forService('agent')));
  // Nest's component loggers are one per process (the last app's): name them for the whole process.
  Logger.overrideLogger(logger);
  return services;
});
