#!/usr/bin/env node
import 'reflect-metadata';
import { Command } from 'commander';
import { loadSettings } from '@cyborg/config';
import { createDataSource, ensureDatabase, migrate, verifyEventLog } from '@cyborg/event-store';
import { databaseMigrations } from '@cyborg/projections';

/** The operator's tool: schema and log integrity. Every command has --help; --json for scripts. */
const program = new Command('cyborg')
  .description('Operate the accelerator manager: database schema and event-log integrity')
  .showHelpAfterError();

async function withDatabase<T>(run: (ds: ReturnType<typeof createDataSource>) => Promise<T>): Promise<T> {
  const settings = loadSettings();
  await ensureDatabase(settings.DATABASE_URL);
  const dataSource = createDataSource({ url: settings.DATABASE_URL, migrations: databaseMigrations, poolSize: 2, applicationName: 'cyborg-cli' });
  await dataSource.initialize();
  try {
    return await run(dataSource);
  } finally {
    await dataSource.destroy();
  }
}

program
  .command('migrate')
  .description('create the database if missing and apply pending migrations (services also do this on start)')
  .option('--json', 'print JSON')
  .action(async (options: { json?: boolean }) => {
    const applied = await withDatabase((ds) => migrate(ds));
    if (options.json) console.log(JSON.stringify({ applied }));
    else console.log(applied.length ? `applied: ${applied.join(', ')}` : 'schema is up to date');
  });

program
  .command('verify')
  .description("check every stream's hash chain and version sequence; exits 1 at the first broken event of any stream")
  .option('--json', 'print JSON')
  .action(async (options: { json?: boolean }) => {
    const result = await withDatabase((ds) => verifyEventLog(ds));
    if (options.json) {
      console.log(JSON.stringify(result));
    } else {
      console.log(`${result.events} events in ${result.streams} streams checked`);
      if (result.breaks.length === 0) console.log('every hash chain verifies');
      else console.table(result.breaks);
    }
    if (result.breaks.length > 0) process.exitCode = 1;
  });

await program.parseAsync(process.argv);
