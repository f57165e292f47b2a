import pg from 'pg';

const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * Drops test databases (`cyborg_test_<unix seconds>_<hex>`, and Keystone's
 * `keystone_test_<unix seconds>_<hex>`) older than two hours: what runs that
 * were killed left behind. Younger ones may belong to a run in progress.
 */
export default async function dropStaleTestDatabases(): Promise<void> {
  const admin = new pg.Client(ADMIN_URL);
  await admin.connect();
  try {
    const { rows } = await admin.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname ~ '^(cyborg|keystone)_test_[0-9]+_[0-9a-f]+$'`,
    );
    const cutoff = Date.now() / 1000 - 2 * 3600;
    for (const { datname } of rows) {
      if (Number(datname.split('_')[2]) < cutoff) {
        await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(datname)} WITH (FORCE)`);
      }
    }
  } finally {
    await admin.end();
  }
}
