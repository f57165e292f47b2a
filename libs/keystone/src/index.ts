export * from './errors';
export * from './token';
export * from './keystone-session';
export * from './token-validator';
export * from './service-user';
export * from './revoke';
