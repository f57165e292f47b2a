export * from './projection';
export * from './projection-runner';
export * from './projections.module';
export * from './schema';
export * from './read-models/index';
