import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A NOTIFY sent inside a transaction takes a database-wide lock at commit and
 * holds it through the WAL flush, so concurrent appends committed one at a
 * time. The store now notifies after its commit instead (see EventStore).
 */
export class NotifyAfterCommit1795230000000 implements MigrationInterface {
  name = 'NotifyAfterCommit1795230000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER events_notify ON events`);
    await q.query(`DROP FUNCTION events_notify`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('cyborg_events', '');
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE TRIGGER events_notify AFTER INSERT ON events
        FOR EACH STATEMENT EXECUTE FUNCTION events_notify()`);
  }
}
