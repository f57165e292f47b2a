import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Read model of accelerator requests (Cyborg §5). Every column comes from the
 * ARQ streams' events: `id` is the log position of ArqCreated (Cyborg lists by
 * its internal id), timestamps are the events' own, so a rebuild writes the
 * same rows.
 */
export class Arqs1795236000000 implements MigrationInterface {
  name = 'Arqs1795236000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE arqs (
        id                       bigint PRIMARY KEY,
        uuid                     uuid NOT NULL UNIQUE,
        state                    text NOT NULL,
        device_profile_uuid      uuid NOT NULL,
        device_profile_name      text NOT NULL,
        device_profile_group_id  integer NOT NULL,
        device_profile_group     jsonb NOT NULL,
        project_id               text,
        hostname                 text,
        device_rp_uuid           text,
        instance_uuid            text,
        attach_handle_uuid       uuid,
        attach_handle_type       text,
        attach_handle_info       text,
        bind_attempt             integer NOT NULL DEFAULT 0,
        bind_deadline            timestamptz,
        bind_failure             text,
        created_at               timestamptz NOT NULL,
        updated_at               timestamptz
      )`);
    await q.query(`CREATE INDEX arqs_instance_uuid ON arqs (instance_uuid)`);
    await q.query(`CREATE INDEX arqs_project_id ON arqs (project_id)`);
    await q.query(`CREATE INDEX arqs_state ON arqs (state)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE arqs`);
  }
}
