export * from './metrics';
export * from './ops-server';
export * from './processor-lag';
export * from './labels';
export * from './bind-metrics';
export * from './metrics-access';
