import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Device health in the read models (microversion 2.4): each device's health
 * as its driver last reported it, whether it is fenced, and on each ARQ the
 * health of the device it holds a handle of. Defaults are what every device
 * and ARQ had before health was reported, so existing rows need no rebuild.
 */
export class DeviceHealth1795250000000 implements MigrationInterface {
  name = 'DeviceHealth1795250000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE devices
        ADD COLUMN health text NOT NULL DEFAULT 'healthy' CHECK (health IN ('healthy', 'degraded', 'unhealthy')),
        ADD COLUMN health_reasons jsonb NOT NULL DEFAULT '[]',
        ADD COLUMN fenced boolean NOT NULL DEFAULT false`);
    await q.query(`
      ALTER TABLE arqs
        ADD COLUMN device_health text CHECK (device_health IN ('healthy', 'degraded', 'unhealthy')),
        ADD COLUMN device_health_reasons jsonb`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE arqs DROP COLUMN device_health_reasons, DROP COLUMN device_health`);
    await q.query(`ALTER TABLE devices DROP COLUMN fenced, DROP COLUMN health_reasons, DROP COLUMN health`);
  }
}
