import type { DataSource } from 'typeorm';

/** A heartbeat's stamp: `silentCheck` is set when a check found the host silent since a heartbeat last looked. */
export interface Heard {
  silentCheck: number | null;
}

interface Waiting {
  resolve: (heard: Heard) => void;
  reject: (error: unknown) => void;
}

/** Hosts stamped by one statement at most: a fleet's heartbeats of one moment. */
const MAX_BATCH = 5000;

/**
 * The last heartbeat heard from each host's agent, shared by every
 * conductor: operational state beside the log, not events (only a host
 * going down or coming back is one).
 *
 * Heartbeats are stamped in batches: one statement for every heartbeat that
 * arrived while the previous statement ran (group commit), so the writes per
 * second follow the database's speed, not the number of hosts, and a lone
 * heartbeat waits for nothing.
 */
export class HostHeartbeats {
  private waiting = new Map<string, Waiting[]>();
  private writing: Promise<void> | null = null;

  constructor(private readonly dataSource: DataSource) {}

  /** Stamps the host heard now; says whether a check found it silent since, so it may be recorded down. */
  heard(hostname: string): Promise<Heard> {
    return new Promise((resolve, reject) => {
      const waiting = this.waiting.get(hostname);
      if (waiting) waiting.push({ resolve, reject });
      else this.waiting.set(hostname, [{ resolve, reject }]);
      this.writing ??= this.writeAll();
    });
  }

  /** Hosts last heard longer ago than `silentForMs` and not yet found silent, by the database's clock. */
  async silentFor(silentForMs: number): Promise<{ hostname: string; lastSeenAt: Date }[]> {
    const rows: { hostname: string; last_seen_at: Date }[] = await this.dataSource.query(
      `SELECT hostname, last_seen_at FROM host_heartbeats
       WHERE silent_checks = silent_checks_seen AND last_seen_at < now() - make_interval(secs => $1::float8 / 1000)`,
      [silentForMs],
    );
    return rows.map((r) => ({ hostname: r.hostname, lastSeenAt: r.last_seen_at }));
  }

  /**
   * A check found the host unheard and, after recording it down (or finding
   * it down or unregistered), says so: later checks skip it, and its next
   * heartbeat reads its stream. Counted, not flagged: a heartbeat that read
   * the stream before this recording cannot clear it.
   */
  async markSilent(hostname: string): Promise<void> {
    await this.dataSource.query(`UPDATE host_heartbeats SET silent_checks = silent_checks + 1 WHERE hostname = $1`, [
      hostname,
    ]);
  }

  /** A heartbeat read the host's stream (and brought it back if down) after the check `silentCheck`. */
  async seenSilentCheck(hostname: string, silentCheck: number): Promise<void> {
    await this.dataSource.query(
      `UPDATE host_heartbeats SET silent_checks_seen = GREATEST(silent_checks_seen, $2) WHERE hostname = $1`,
      [hostname, silentCheck],
    );
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

  private async writeAll(): Promise<void> {
    try {
      while (this.waiting.size > 0) {
        const batch = new Map<string, Waiting[]>();
        for (const [hostname, waiting] of this.waiting) {
          if (batch.size >= MAX_BATCH) break;
          batch.set(hostname, waiting);
        }
        for (const hostname of batch.keys()) this.waiting.delete(hostname);
        await this.write(batch);
      }
    } finally {
      this.writing = null;
    }
  }

  private async write(batch: Map<string, Waiting[]>): Promise<void> {
    // In one order everywhere, so two conductors' batches never wait on each other's rows in a cycle.
    const hostnames = [...batch.keys()].sort();
    try {
      const rows: { hostname: string; silent_check: number; silent: boolean }[] = await this.dataSource.query(
        `INSERT INTO host_heartbeats (hostname, last_seen_at)
         SELECT hostname, now() FROM unnest($1::text[]) AS hostname ORDER BY hostname
         ON CONFLICT (hostname) DO UPDATE SET last_seen_at = now()
         RETURNING hostname, silent_checks AS silent_check, silent_checks <> silent_checks_seen AS silent`,
        [hostnames],
      );
      const silent = new Map(rows.filter((r) => r.silent).map((r) => [r.hostname, r.silent_check]));
      for (const [hostname, waiting] of batch) {
        for (const w of waiting) w.resolve({ silentCheck: silent.get(hostname) ?? null });
      }
    } catch (error) {
      for (const waiting of batch.values()) for (const w of waiting) w.reject(error);
    }
  }
}
