import { DataSource, type MixedList, type EntitySchema } from 'typeorm';
import { needsPrimaryChoice, PrimaryLocator, primaryClientClass } from './primary';
import { EventLog1763700000000 } from './migrations/1763700000000-event-log';
import { NotifyAfterCommit1795230000000 } from './migrations/1795230000000-notify-after-commit';
import { AppendFunction1795237100000 } from './migrations/1795237100000-append-function';
import { HostHeartbeats1795240000000 } from './migrations/1795240000000-host-heartbeats';
import { AppendCommand1795243100000 } from './migrations/1795243100000-append-command';
import { HostHeartbeatsSilent1795250000000 } from './migrations/1795250000000-host-heartbeats-silent';

/**
 * The event log's own migrations, and the conductors' host heartbeats (kept
 * beside the log, by its store); read-model migrations are added by their libs.
 */
export const eventStoreMigrations = [
  EventLog1763700000000,
  NotifyAfterCommit1795230000000,
  AppendFunction1795237100000,
  HostHeartbeats1795240000000,
  AppendCommand1795243100000,
  HostHeartbeatsSilent1795250000000,
];

export interface DatabaseOptions {
  url: string;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  migrations?: MixedList<Function>;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  entities?: MixedList<Function | string | EntitySchema>;
  poolSize?: number;
  applicationName?: string;
}

/**
 * One way to open the database: migrations only, never synchronize. A
 * multi-host URL (`h1:5432,h2:5432/db?target_session_attrs=read-write`)
 * gives a pool whose every session is to the primary, found again after a
 * failover; TypeORM itself sees the first host's URL only.
 */
export function createDataSource(options: DatabaseOptions): DataSource {
  const choose = needsPrimaryChoice(options.url);
  return new DataSource({
    type: 'postgres',
    url: choose ? PrimaryLocator.for(options.url).hostUrl(0) : options.url,
    migrations: options.migrations ?? eventStoreMigrations,
    entities: options.entities ?? [],
    synchronize: false,
    migrationsRun: false,
    migrationsTableName: 'schema_migrations',
    applicationName: options.applicationName ?? 'cyborg',
    poolSize: options.poolSize ?? 10,
    extra: {
      // A session idle inside a transaction holds back every log reader (snapshot xmin).
      idle_in_transaction_session_timeout: 30_000,
      connectionTimeoutMillis: 5_000,
      // Every statement the services send is short. JIT compiled each list of 10,000 hosts' rows
      // (estimated past jit_above_cost) for longer than the query then ran: 0.5 to 0.8 s each.
      options: '-c jit=off',
      ...(choose ? { Client: primaryClientClass(options.url) } : {}),
    },
  });
}

const MIGRATION_LOCK = 0x43594247;

/** Runs pending migrations; services starting together take turns on an advisory lock. */
export async function migrate(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query(`SELECT pg_advisory_lock($1, 0)`, [MIGRATION_LOCK]);
    const done = await dataSource.runMigrations({ transaction: 'each' });
    return done.map((m) => m.name);
  } finally {
    await runner.query(`SELECT pg_advisory_unlock($1, 0)`, [MIGRATION_LOCK]).catch(() => undefined);
    await runner.release();
  }
}
