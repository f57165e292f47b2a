import type { Command } from 'commander';
import { migrate } from '@cyborg/event-store';
import { withDatabase } from '../database';

/** `cyborg migrate`: the schema, as every service applies it on start. */
export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('create the database if missing and apply pending migrations (services also do this on start)')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const applied = await withDatabase((ds) => migrate(ds));
      if (options.json) console.log(JSON.stringify({ applied }));
      else console.log(applied.length ? `applied: ${applied.join(', ')}` : 'schema is up to date');
    });
}
