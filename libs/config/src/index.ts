export * from './settings';
export * from './logger';
export * from './service-runtime';
export * from './redact';
