import { type DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { CommandExecutor } from './command-executor';
import { createDataSource, type DatabaseOptions, migrate } from './database/data-source';
import { ensureDatabase } from './database/ensure-database';
import { EventStore } from './event-store';
import { EventTypeRegistry } from './upcasters';

export interface EventStoreModuleOptions extends DatabaseOptions {
  registry: EventTypeRegistry;
}

/**
 * The database of a service: creates it if missing, runs migrations, and
 * provides the TypeORM DataSource, the EventStore and the CommandExecutor.
 */
@Module({})
export class EventStoreModule {
  static forRoot(options: EventStoreModuleOptions): DynamicModule {
    return {
      module: EventStoreModule,
      global: true,
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: () => ({ type: 'postgres' as const, url: options.url }),
          dataSourceFactory: async () => {
            await ensureDatabase(options.url);
            const dataSource = createDataSource(options);
            await dataSource.initialize();
            await migrate(dataSource);
            return dataSource;
          },
        }),
      ],
      providers: [
        { provide: EventStore, inject: [DataSource], useFactory: (ds: DataSource) => new EventStore(ds, options.registry) },
        { provide: CommandExecutor, inject: [EventStore], useFactory: (store: EventStore) => new CommandExecutor(store) },
      ],
      exports: [EventStore, CommandExecutor],
    };
  }
}
