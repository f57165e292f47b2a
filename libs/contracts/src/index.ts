export * from './subjects';
export * from './streams';
export * from './caller';
export * from './events/index';
export * from './commands/register-host.command';
export * from './commands/ping.work';
