import 'reflect-metadata';
import { createLogger, loadSettings, runUntilSignalled } from '@cyborg/config';
import { startApi } from './src/start';

const settings = loadSettings();
const logger = createLogger('api', settings);
await runUntilSignalled(logger, async () => [await startApi(settings, logger)]);
