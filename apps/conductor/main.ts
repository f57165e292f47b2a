import 'reflect-metadata';
import { createLogger, loadSettings, runUntilSignalled } from '@cyborg/config';
import { startConductor } from './src/start';

const settings = loadSettings();
const logger = createLogger('conductor', settings);
await runUntilSignalled(logger, async () => [await startConductor(settings, logger)]);
