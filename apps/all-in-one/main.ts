import 'reflect-metadata';
import { pathToFileURL } from 'node:url';
import { createLogger, loadSettings, runUntilSignalled } from '@cyborg/config';
import { startAgent } from '../agent/src/start';
import { startApi } from '../api/src/start';
import { startConductor } from '../conductor/src/start';
import { startPlacementSync } from '../placement-sync/src/start';

/**
 * One machine, one process: conductor, API, placement-sync and one
 * simulated host's agent, each exactly as it runs alone.
 */
// The example bitstreams in deploy/bitstreams let the simulated FPGA be programmed without Glance.
const settings = loadSettings({ BITSTREAM_SOURCE: pathToFileURL('deploy/bitstreams').href, ...process.env });
const logger = createLogger('cyborg', settings);
await runUntilSignalled(logger, async () => {
  const services = [await startConductor(settings, createLogger('conductor', settings))];
  services.push(await startApi(settings, createLogger('api', settings)));
  services.push(await startPlacementSync(settings, createLogger('placement-sync', settings)));
  services.push(await startAgent(settings, createLogger('agent', settings)));
  return services;
});
