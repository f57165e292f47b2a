import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `silent_checks`: how many times a conductor's check found the host unheard
 * (and recorded it down, or found it down or unregistered); `silent_checks_seen`:
 * the last of those a heartbeat looked at the host's stream for. Only while
 * they differ does a heartbeat read the stream to bring the host back, and
 * the check skips hosts it already found. Rows from before count as found
 * once, so a host down then comes back on its next heartbeat.
 */
export class HostHeartbeatsSilent1795250000000 implements MigrationInterface {
  name = 'HostHeartbeatsSilent1795250000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE host_heartbeats
        ADD COLUMN silent_checks integer NOT NULL DEFAULT 1,
        ADD COLUMN silent_checks_seen integer NOT NULL DEFAULT 0`);
    await q.query(`ALTER TABLE host_heartbeats ALTER COLUMN silent_checks SET DEFAULT 0`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE host_heartbeats DROP COLUMN silent_checks, DROP COLUMN silent_checks_seen`);
  }
}
