import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Read models of the hosts' inventory (Cyborg §7-§9). Every column comes from
 * the events, so a rebuild writes the same rows: the integer `id` Cyborg shows
 * (`device_id`, `parent_id`, ...) is the log position of the Added event, and
 * timestamps are the events' own. No foreign keys: the projection applies
 * children's removals before their parents', and a rebuild truncates each
 * table alone.
 */
export class Inventory1795229178383 implements MigrationInterface {
  name = 'Inventory1795229178383';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE devices (
        id                 bigint PRIMARY KEY,
        uuid               uuid NOT NULL UNIQUE,
        hostname           text NOT NULL,
        control_path       text NOT NULL,
        type               text NOT NULL,
        vendor             text NOT NULL,
        model              text NOT NULL,
        std_board_info     text,
        vendor_board_info  text,
        driver_name        text NOT NULL,
        status             text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'maintaining')),
        draining           boolean NOT NULL DEFAULT false,
        created_at         timestamptz NOT NULL,
        updated_at         timestamptz,
        UNIQUE (hostname, control_path)
      )`);
    await q.query(`CREATE INDEX devices_type ON devices (type)`);
    await q.query(`CREATE INDEX devices_vendor ON devices (vendor)`);

    await q.query(`
      CREATE TABLE deployables (
        id                bigint PRIMARY KEY,
        uuid              uuid NOT NULL UNIQUE,
        hostname          text NOT NULL,
        device_uuid       uuid NOT NULL,
        device_id         bigint,
        name              text NOT NULL,
        parent_uuid       uuid,
        parent_id         bigint,
        root_uuid         uuid,
        root_id           bigint,
        num_accelerators  integer NOT NULL,
        rp_uuid           uuid NOT NULL,
        driver_name       text,
        bitstream_id      uuid,
        draining          boolean NOT NULL DEFAULT false,
        created_at        timestamptz NOT NULL,
        updated_at        timestamptz
      )`);
    await q.query(`CREATE INDEX deployables_device_uuid ON deployables (device_uuid)`);
    await q.query(`CREATE INDEX deployables_name ON deployables (name)`);
    await q.query(`CREATE INDEX deployables_rp_uuid ON deployables (rp_uuid)`);
    await q.query(`CREATE INDEX deployables_hostname ON deployables (hostname)`);

    await q.query(`
      CREATE TABLE attach_handles (
        id               bigint PRIMARY KEY,
        uuid             uuid NOT NULL UNIQUE,
        hostname         text NOT NULL,
        deployable_uuid  uuid NOT NULL,
        deployable_id    bigint,
        device_uuid      uuid NOT NULL,
        type             text NOT NULL,
        info             text NOT NULL,
        in_use           boolean NOT NULL DEFAULT false,
        allocated_to     text,
        draining         boolean NOT NULL DEFAULT false,
        created_at       timestamptz NOT NULL,
        updated_at       timestamptz
      )`);
    await q.query(`CREATE INDEX attach_handles_deployable_uuid ON attach_handles (deployable_uuid)`);

    await q.query(`
      CREATE TABLE attributes (
        id               bigint PRIMARY KEY,
        uuid             uuid NOT NULL UNIQUE,
        hostname         text NOT NULL,
        deployable_uuid  uuid NOT NULL,
        deployable_id    bigint,
        key              text NOT NULL,
        value            text NOT NULL,
        source           text NOT NULL CHECK (source IN ('agent', 'api')),
        created_at       timestamptz NOT NULL,
        updated_at       timestamptz
      )`);
    await q.query(`CREATE INDEX attributes_deployable_uuid ON attributes (deployable_uuid)`);
    await q.query(`CREATE INDEX attributes_deployable_id ON attributes (deployable_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE attributes`);
    await q.query(`DROP TABLE attach_handles`);
    await q.query(`DROP TABLE deployables`);
    await q.query(`DROP TABLE devices`);
  }
}
