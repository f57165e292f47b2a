import { eventStoreMigrations } from '@cyborg/event-store';

/** Read-model table migrations, in order. */
export const readModelMigrations: (new () => object)[] = [];

/** The whole schema: the event log first, then the read models. Every service runs the same list. */
export const databaseMigrations = [...eventStoreMigrations, ...readModelMigrations];
