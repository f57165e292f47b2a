import {
  type DynamicModule,
  Injectable,
  Module,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { CyborgEvent } from '@cyborg/contracts';
import { EventStore } from '@cyborg/event-store';
import { DataSource } from 'typeorm';
import type { Projection } from './projection';
import { Projections } from './projection-runner';

const OPTIONS = Symbol('ProjectionsOptions');

interface ProjectionsModuleOptions {
  projections: Projection[];
  databaseUrl: string;
  pollIntervalMs?: number;
}

@Injectable()
class ProjectionsLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(private readonly projections: Projections) {}
  async onApplicationBootstrap() {
    await this.projections.start();
  }
  async onApplicationShutdown() {
    await this.projections.stop();
  }
}

/** Keeps the read models of a service up to date while it runs. */
@Module({})
export class ProjectionsModule {
  static forRoot(options: ProjectionsModuleOptions): DynamicModule {
    return {
      module: ProjectionsModule,
      global: true,
      providers: [
        { provide: OPTIONS, useValue: options },
        {
          provide: Projections,
          inject: [EventStore, DataSource, OPTIONS],
          useFactory: (store: EventStore<CyborgEvent>, dataSource: DataSource, o: ProjectionsModuleOptions) =>
            new Projections(o.projections, store, {
              dataSource,
              databaseUrl: o.databaseUrl,
              pollIntervalMs: o.pollIntervalMs,
            }),
        },
        ProjectionsLifecycle,
      ],
      exports: [Projections],
    };
  }
}
