import type { CyborgEvent } from '@cyborg/contracts';
import { loadSettings } from '@cyborg/config';
import { eventSchemas } from '@cyborg/contracts';
import { AuditLog } from '@cyborg/audit';
import { createDataSource, ensureDatabase, EventStore, EventTypeRegistry } from '@cyborg/event-store';
import { databaseMigrations } from '@cyborg/projections';
import type { DataSource } from 'typeorm';

/** The database of DATABASE_URL, opened for one command and closed after it. */
export async function withDatabase<T>(run: (dataSource: DataSource, url: string) => Promise<T>): Promise<T> {
  const settings = loadSettings();
  await ensureDatabase(settings.DATABASE_URL);
  const dataSource = createDataSource({
    url: settings.DATABASE_URL,
    migrations: databaseMigrations,
    poolSize: 2,
    applicationName: 'cyborg-cli',
  });
  await dataSource.initialize();
  try {
    return await run(dataSource, settings.DATABASE_URL);
  } finally {
    await dataSource.destroy();
  }
}

/** The event log, read as every service reads it: old schema versions upcast to the current ones. */
export function withEventStore<T>(
  run: (store: EventStore<CyborgEvent>, url: string, dataSource: DataSource) => Promise<T>,
): Promise<T> {
  return withDatabase((dataSource, url) =>
    run(new EventStore(dataSource, EventTypeRegistry.from(eventSchemas)), url, dataSource),
  );
}

/** The event log as audit reads it. */
export function withAuditLog<T>(run: (log: AuditLog, url: string) => Promise<T>): Promise<T> {
  return withEventStore((store, url, dataSource) => run(new AuditLog(store, dataSource), url));
}
