import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Read model of device profiles (Cyborg §4). Every column comes from the
 * events, so a rebuild writes the same rows; `created_position` (the log
 * position of DeviceProfileCreated) gives Cyborg's listing order.
 */
export class DeviceProfiles1795228683656 implements MigrationInterface {
  name = 'DeviceProfiles1795228683656';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE device_profiles (
        uuid              uuid PRIMARY KEY,
        name              text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 255),
        description       text,
        groups            jsonb NOT NULL,
        created_at        timestamptz NOT NULL,
        updated_at        timestamptz,
        created_position  bigint NOT NULL UNIQUE
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE device_profiles`);
  }
}
