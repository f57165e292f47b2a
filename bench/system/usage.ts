/** One process's memory (bytes), CPU time used so far (microseconds, user + system) and SQL statements sent. */
export interface ProcessUsage {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  cpuMicros: number;
  /** Statements this process sent to PostgreSQL so far (every `pg` query call). */
  statements: number;
  /** With BENCH_STATEMENT_KINDS=1: statements so far by their first words. */
  statementKinds?: Record<string, number>;
}

export const MiB = 2 ** 20;
