import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Written by placement-sync, read by the API: how far each host's resource
 * providers in Placement follow its host stream. Not a projection (it
 * records Placement's answers, not events), so rebuilds leave it alone;
 * placement-sync rewrites every row after its first pass.
 */
export class PlacementSyncStatus1795235000000 implements MigrationInterface {
  name = 'PlacementSyncStatus1795235000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE placement_sync_status (
        hostname                text PRIMARY KEY,
        state                   text NOT NULL
                                CHECK (state IN ('pending', 'synced', 'waiting_for_compute_node', 'draining', 'error')),
        compute_node_uuid       uuid,
        stream_version          integer NOT NULL,
        synced_version          integer,
        synced_sequence         bigint,
        providers               integer NOT NULL DEFAULT 0,
        draining_providers      jsonb NOT NULL DEFAULT '[]',
        last_error              text,
        last_error_request_id   text,
        last_error_at           timestamptz,
        last_synced_at          timestamptz,
        updated_at              timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE placement_sync_status`);
  }
}
