export * from './check';
export * from './defaults';
export * from './policy';
