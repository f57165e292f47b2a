import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The last heartbeat heard from each host's agent, shared by every
 * conductor. Operational state, not a projection: only a host going down or
 * coming back is an event.
 */
export class HostHeartbeats1795240000000 implements MigrationInterface {
  name = 'HostHeartbeats1795240000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE host_heartbeats (
        hostname      text PRIMARY KEY,
        last_seen_at  timestamptz NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE host_heartbeats`);
  }
}
