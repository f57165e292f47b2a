/** One process's memory (bytes) and CPU time used so far (microseconds, user + system). */
export interface ProcessUsage {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  cpuMicros: number;
}

export const MiB = 2 ** 20;
