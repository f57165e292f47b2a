import { readFileSync } from 'node:fs';
import type pg from 'pg';

/** Clock ticks per second of /proc's utime and stime (USER_HZ: 100 on every Linux this runs on). */
const TICKS_PER_SECOND = 100;

/** CPU microseconds (user + system) a process has used so far, from /proc; null once it is gone. */
export function procCpuMicros(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: the fields after it start past its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1_000_000) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** The CPU used by the processes outside Node that a lifecycle makes work: PostgreSQL and NATS. */
export interface OutsideUsage {
  /** Backends of the run's database, as PostgreSQL's pg_stat_activity lists them. */
  postgresMicros: number;
  natsMicros: number;
  /** Transactions committed or rolled back in the run's database (pg_stat_database). */
  transactions: number;
}

/**
 * Reads the CPU of PostgreSQL's backends serving the run's database and of
 * the run's nats-server from /proc, and the database's transaction count.
 * Backends are matched by pid between two readings; one that started in
 * between counts from zero. PostgreSQL's shared processes (WAL writer,
 * checkpointer) serve every database of the cluster and are left out.
 */
export class OutsideCpu {
  constructor(
    private readonly pool: pg.Pool,
    private readonly database: string,
    private readonly natsPid: number,
  ) {}

  async read(): Promise<{ backends: Map<number, number>; nats: number; transactions: number }> {
    const { rows } = await this.pool.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
      [this.database],
    );
    const backends = new Map<number, number>();
    for (const { pid } of rows) {
      const micros = procCpuMicros(pid);
      if (micros !== null) backends.set(pid, micros);
    }
    // The counters lag by up to a stats interval; a fresh snapshot makes them current for this session.
    await this.pool.query(`SELECT pg_stat_clear_snapshot()`);
    const stats = await this.pool.query<{ n: string }>(
      `SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = $1`,
      [this.database],
    );
    return { backends, nats: procCpuMicros(this.natsPid) ?? 0, transactions: Number(stats.rows[0]?.n ?? 0) };
  }

  /** What was used between two readings. */
  static between(
    before: Awaited<ReturnType<OutsideCpu['read']>>,
    after: Awaited<ReturnType<OutsideCpu['read']>>,
  ): OutsideUsage {
    let postgresMicros = 0;
    for (const [pid, micros] of after.backends) postgresMicros += micros - (before.backends.get(pid) ?? 0);
    return {
      postgresMicros,
      natsMicros: after.nats - before.nats,
      transactions: after.transactions - before.transactions,
    };
  }
}
