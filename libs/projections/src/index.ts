export * from './projection';
export * from './projection-runner';
export * from './projections.module';
export * from './schema';
export * from './fold/row-fold';
export * from './rebuild/blue-green-rebuild';
export * from './read-models/index';
