export * from './client/placement-types';
export * from './client/placement-error';
export * from './client/placement-client';
export * from './sync/desired-tree';
export * from './sync/host-tree-sync';
export * from './sync/placement-sync-engine';
export * from './status/sync-status.store';
