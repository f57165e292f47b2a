import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the hosts list reads, by host: the attach handles of each host (their
 * counts were a scan of `attach_handles` per host), the host streams by name,
 * and each host stream's last `HostRegistered` and last `HostDown`/`HostUp`
 * (partial indexes, so finding them reads one index entry per host, not the
 * host's events).
 */
export class HostListIndexes1795260000000 implements MigrationInterface {
  name = 'HostListIndexes1795260000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX attach_handles_hostname ON attach_handles (hostname, in_use)`);
    await q.query(`CREATE INDEX streams_category ON streams (category, stream_id)`);
    await q.query(`CREATE INDEX events_host_registered ON events (stream_id, version DESC) WHERE type = 'HostRegistered'`);
    await q.query(
      `CREATE INDEX events_host_liveness ON events (stream_id, version DESC) WHERE type IN ('HostDown', 'HostUp')`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX events_host_liveness`);
    await q.query(`DROP INDEX events_host_registered`);
    await q.query(`DROP INDEX streams_category`);
    await q.query(`DROP INDEX attach_handles_hostname`);
  }
}
