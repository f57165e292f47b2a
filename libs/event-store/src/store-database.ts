import type { DataSource } from 'typeorm';

/**
 * The database of each store, for this library's log processors alone: their
 * checkpoints sit beside the log and a transactional batch commits with them.
 * Not exported from the library; other libraries bring their own DataSource.
 */
const databases = new WeakMap<object, DataSource>();

export function registerStoreDatabase(store: object, dataSource: DataSource): void {
  databases.set(store, dataSource);
}

/** The DataSource a store reads and appends through. */
export function storeDatabase(store: object): DataSource {
  const dataSource = databases.get(store);
  if (!dataSource) throw new Error('not an event store');
  return dataSource;
}
