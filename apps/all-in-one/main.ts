import 'reflect-metadata';
import { pathToFileURL } from 'node:url';
import { createLogger, loadSettings, runUntilSignalled } from '@cyborg/config';
import { startAllInOne } from './start';

/**
 * One machine, one process: conductor, API, placement-sync and one
 * simulated host's agent. One logger (a `service` field per service) and one
 * metrics registry, served by the API's `/metrics`: the services' own
 * metrics ports are not opened.
 */
// The example bitstreams in deploy/bitstreams let the simulated FPGA be programmed without Glance.
const settings = loadSettings({ BITSTREAM_SOURCE: pathToFileURL('deploy/bitstreams').href, ...process.env });
const logger = createLogger('cyborg', settings);
await runUntilSignalled(logger, () => startAllInOne(settings, logger));
