#!/usr/bin/env node
import 'reflect-metadata';
import { Command } from 'commander';
import { registerDiscoverCommand } from './src/commands/discover';
import { registerEventsCommand } from './src/commands/events';
import { registerHistoryCommand } from './src/commands/history';
import { registerMigrateCommand } from './src/commands/migrate';
import { registerProjectionsCommand } from './src/commands/projections';
import { registerStateAtCommand } from './src/commands/state-at';
import { registerUsageCommand } from './src/commands/usage';
import { registerVerifyCommand } from './src/commands/verify';

/** The operator's tool: schema, log integrity, audit and a read-only look at this host's devices. Every command has --help; --json for scripts. */
const program = new Command('cyborg')
  .description('Operate the accelerator manager: database schema, event-log integrity and audit')
  .showHelpAfterError();

registerMigrateCommand(program);
registerVerifyCommand(program);
registerEventsCommand(program);
registerHistoryCommand(program);
registerStateAtCommand(program);
registerUsageCommand(program);
registerProjectionsCommand(program);
registerDiscoverCommand(program);

await program.parseAsync(process.argv);
