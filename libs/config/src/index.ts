export * from './settings';
export * from './logger';
export * from './service-runtime';
export * from './retry';
export * from './log-context';
