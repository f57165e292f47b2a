import { type DynamicModule, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { CommandHandler } from './command-handler';
import { createDataSource, type DatabaseOptions, migrate } from './database/data-source';
import { ensureDatabase } from './database/ensure-database';
import { EventStore } from './event-store';
import { HostHeartbeats } from './host-heartbeats';
import { EventTypeRegistry } from './upcasters';

export interface EventStoreModuleOptions extends DatabaseOptions {
  registry: EventTypeRegistry;
  /** The command handler's folded states kept per stream kind, where a setting says. */
  cachedStates?: ReadonlyMap<object, number>;
  /** Stream kinds the command handler takes as new when it holds nothing for one (see CommandHandlerOptions). */
  assumedNew?: ReadonlySet<object>;
}

@Injectable()
class DataSourceCloser implements OnApplicationShutdown {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}
  async onApplicationShutdown() {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

/**
 * The database of a service: creates it if missing, runs migrations, and
 * provides the TypeORM DataSource, the EventStore, the CommandHandler and the
 * host heartbeats.
 * Each service owns its DataSource, so several services share one process.
 */
@Module({})
export class EventStoreModule {
  static forRoot(options: EventStoreModuleOptions): DynamicModule {
    return {
      module: EventStoreModule,
      global: true,
      providers: [
        {
          provide: DataSource,
          useFactory: async () => {
            await ensureDatabase(options.url);
            const dataSource = createDataSource(options);
            await dataSource.initialize();
            await migrate(dataSource);
            return dataSource;
          },
        },
        DataSourceCloser,
        {
          provide: EventStore,
          inject: [DataSource],
          useFactory: (ds: DataSource) => new EventStore(ds, options.registry),
        },
        {
          provide: CommandHandler,
          inject: [EventStore],
          useFactory: (store: EventStore) =>
            new CommandHandler(store, { cachedStates: options.cachedStates, assumedNew: options.assumedNew }),
        },
        { provide: HostHeartbeats, inject: [DataSource], useFactory: (ds: DataSource) => new HostHeartbeats(ds) },
      ],
      exports: [DataSource, EventStore, CommandHandler, HostHeartbeats],
    };
  }
}
