export * from './domain-event';
export * from './host/host';
