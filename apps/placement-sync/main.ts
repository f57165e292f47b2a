import 'reflect-metadata';
import { createLogger, loadSettings, runUntilSignalled } from '@cyborg/config';
import { startPlacementSync } from './src/start';

const settings = loadSettings();
const logger = createLogger('placement-sync', settings);
await runUntilSignalled(logger, async () => [await startPlacementSync(settings, logger)]);
