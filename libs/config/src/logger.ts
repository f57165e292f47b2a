import { ConsoleLogger, type LogLevel } from '@nestjs/common';
import type { Settings } from './settings';

const LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

/** The one logger: JSON lines by default, with the service's name on each line. */
export function createLogger(service: string, settings: Pick<Settings, 'LOG_LEVEL' | 'LOG_FORMAT'>): ConsoleLogger {
  const upTo = LEVELS.indexOf(settings.LOG_LEVEL);
  return new ConsoleLogger(service, {
    json: settings.LOG_FORMAT === 'json',
    colors: settings.LOG_FORMAT === 'text',
    logLevels: LEVELS.slice(0, upTo + 1),
  });
}
