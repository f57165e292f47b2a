import type { DataSource } from 'typeorm';

/**
 * The last heartbeat heard from each host's agent, shared by every
 * conductor: operational state beside the log, not events (only a host
 * going down or coming back is one).
 */
export class HostHeartbeats {
  constructor(private readonly dataSource: DataSource) {}

  async heard(hostname: string): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO host_heartbeats (hostname, last_seen_at) VALUES ($1, now())
       ON CONFLICT (hostname) DO UPDATE SET last_seen_at = now()`,
      [hostname],
    );
  }

  /** Hosts last heard longer ago than `silentForMs`, by the database's clock. */
  async silentFor(silentForMs: number): Promise<{ hostname: string; lastSeenAt: Date }[]> {
    const rows: { hostname: string; last_seen_at: Date }[] = await this.dataSource.query(
      `SELECT hostname, last_seen_at FROM host_heartbeats
       WHERE last_seen_at < now() - make_interval(secs => $1::float8 / 1000)`,
      [silentForMs],
    );
    return rows.map((r) => ({ hostname: r.hostname, lastSeenAt: r.last_seen_at }));
  }

  /** How many hosts were heard within `silentForMs` (up) and how many not (down). */
  async tally(silentForMs: number): Promise<{ up: number; down: number }> {
    const rows: { up: number; down: number }[] = await this.dataSource.query(
      `SELECT count(*) FILTER (WHERE last_seen_at >= now() - make_interval(secs => $1::float8 / 1000))::int AS up,
              count(*) FILTER (WHERE last_seen_at < now() - make_interval(secs => $1::float8 / 1000))::int AS down
       FROM host_heartbeats`,
      [silentForMs],
    );
    return rows[0] ?? { up: 0, down: 0 };
  }
}
