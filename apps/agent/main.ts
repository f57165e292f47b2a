import 'reflect-metadata';
import { createLogger, loadSettings, runUntilSignalled } from '@cyborg/config';
import { startAgent } from './src/start';

const settings = loadSettings();
const logger = createLogger('agent', settings);
await runUntilSignalled(logger, async () => [await startAgent(settings, logger)]);
