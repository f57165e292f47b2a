import { createLogger } from '@cyborg/config';

/** Services under test log only errors, so test output stays readable. */
export const quietLogger = createLogger('test', { LOG_LEVEL: 'error', LOG_FORMAT: 'json' });
