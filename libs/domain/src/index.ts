export * from './domain-event';
export * from './host/host';
export * from './domain-error';
export * from './uuid';
export * from './device-profile/device-profile';
export * from './device-profile/device-profile.errors';
export * from './device-profile/device-profile.validation';
