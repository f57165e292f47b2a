import { ConsoleLogger } from '@nestjs/common';

/** Services under test log only errors, so test output stays readable. */
export const quietLogger = new ConsoleLogger('test', { logLevels: ['error', 'fatal'] });
