/** One process's memory (bytes), CPU time used so far (microseconds, user + system) and SQL statements sent. */
export interface ProcessUsage {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  cpuMicros: number;
  /** Statements this process sent to PostgreSQL so far (every `pg` query call). */
  statements: number;
}

export const MiB = 2 ** 20;
