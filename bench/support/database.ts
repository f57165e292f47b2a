import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { DataSource } from 'typeorm';
import { createDataSource, migrate } from '@cyborg/event-store';
import { databaseMigrations } from '@cyborg/projections';

/** The run's own database: created from the maintenance DB, migrated like a service, dropped at the end. */
export interface BenchDatabase {
  name: string;
  url: string;
  /** The project's DataSource (same options as the services), for EventStore and Projections. */
  dataSource: DataSource;
  /** Plain pg for the baselines: no TypeORM in between. */
  pool: pg.Pool;
  /** Drops and re-creates the schema with the project's migrations: an empty log. */
  resetSchema(): Promise<void>;
  drop(): Promise<void>;
}

export async function createBenchDatabase(adminUrl: string, poolSize = 12): Promise<BenchDatabase> {
  const name = `cyborg_bench_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    // For profiling: every statement of the run in the server's log, with its session's pid.
    if (process.env.BENCH_LOG_STATEMENTS) {
      await admin.query(`ALTER DATABASE ${pg.escapeIdentifier(name)} SET log_statement = 'all'`);
    }
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let dataSource: DataSource | null = null;
  let pool: pg.Pool | null = null;
  let dropping: Promise<void> | null = null;
  /** Idempotent: a second caller (the signal handler, the finally) waits for the same drop. */
  const drop = () =>
    (dropping ??= (async () => {
      // FORCE ends every session first, so nothing in flight can keep the database alive.
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
      } finally {
        await c.end();
      }
      const closing = Promise.all([
        dataSource?.isInitialized ? dataSource.destroy().catch(() => undefined) : undefined,
        pool?.end().catch(() => undefined),
      ]);
      await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
    })());
  try {
    dataSource = createDataSource({
      url: url.toString(),
      migrations: databaseMigrations,
      poolSize,
      applicationName: 'cyborg-bench',
    });
    await dataSource.initialize();
    await migrate(dataSource);
    pool = new pg.Pool({ connectionString: url.toString(), max: poolSize, application_name: 'cyborg-bench-raw' });
    // An idle client whose session ends (the drop at the end) must not crash the run.
    pool.on('error', () => undefined);
  } catch (error) {
    await drop().catch(() => undefined);
    throw error;
  }
  const ds = dataSource;
  return {
    name,
    url: url.toString(),
    dataSource: ds,
    pool,
    async resetSchema() {
      await ds.query(`DROP SCHEMA public CASCADE`);
      await ds.query(`CREATE SCHEMA public`);
      await migrate(ds);
    },
    drop,
  };
}
