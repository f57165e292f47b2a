import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Where each projection's latest blue/green rebuild stands, for
 * `projections status` in any process: one row per projection, rewritten by
 * every rebuild. Whether one is running now is the rebuild's advisory lock,
 * not `state` (a rebuild that was killed leaves `running` behind).
 */
export class ProjectionRebuilds1795241500000 implements MigrationInterface {
  name = 'ProjectionRebuilds1795241500000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE projection_rebuilds (
        projection      text PRIMARY KEY,
        state           text NOT NULL CHECK (state IN ('running', 'done', 'failed')),
        phase           text NOT NULL,
        events_read     bigint NOT NULL DEFAULT 0,
        events_total    bigint NOT NULL DEFAULT 0,
        transaction_id  xid8 NOT NULL DEFAULT '0',
        position        bigint NOT NULL DEFAULT 0,
        started_at      timestamptz NOT NULL DEFAULT now(),
        finished_at     timestamptz,
        updated_at      timestamptz NOT NULL DEFAULT now(),
        last_error      text
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE projection_rebuilds`);
  }
}
