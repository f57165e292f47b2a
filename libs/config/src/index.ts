export * from './settings';
export * from './logger';
export * from './service-runtime';
export * from './retry';
export * from './redact';
export * from './log-context';
export * from './database-url';
